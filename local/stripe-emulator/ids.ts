import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Stripe-looking id: prefix + 24 base62 characters, e.g. `pi_3Px…`. */
export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${s}`;
}

/** Unix seconds, Stripe's `created`. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
