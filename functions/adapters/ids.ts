import { createHash, randomBytes } from 'node:crypto';
import type { Clock, Ids } from '../core/ports';

/** Time-ordered ids (48-bit ms time + counter + randomness, base32 Crockford) so events sort by sk. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
let lastMs = 0;
let counter = 0;

function encode(n: bigint, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    s = ALPHABET[Number(n & 31n)] + s;
    n >>= 5n;
  }
  return s;
}

export function sortableId(nowMs = Date.now()): string {
  if (nowMs <= lastMs) {
    counter++;
    nowMs = lastMs;
  } else {
    lastMs = nowMs;
    counter = 0;
  }
  const rand = BigInt('0x' + randomBytes(8).toString('hex'));
  return encode(BigInt(nowMs), 10) + encode(BigInt(counter), 4) + encode(rand, 12);
}

export const systemIds: Ids = {
  next: (prefix) => `${prefix}_${sortableId()}`,
  derive: (prefix, ...parts) => `${prefix}_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 26)}`,
};

export const systemClock: Clock = { now: () => new Date() };
