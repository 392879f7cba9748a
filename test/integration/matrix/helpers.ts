/**
 * Shared helpers of the matrix tests: one in-process local stack per test file (its own table),
 * tokens for the seven kinds of caller, a small HTTP client and rift fixtures.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { expect } from 'vitest';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { mintToken } from '../../../local/jwt';

export const BUYER = 'user_mx_buyer';
export const SELLER = 'user_mx_seller';
export const STRANGER = 'user_mx_stranger';
export const ADMIN = 'user_mx_admin';
export const SELLER_ACCOUNT = 'acct_matrixseller';

export const randomTable = (tag: string) => `rift-${tag}-${Date.now()}-${randomBytes(3).toString('hex')}`;

export async function startStack(tag: string): Promise<LocalStack> {
  return startLocalStack({ port: 0, stripePort: 0, sesPort: 0, dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT, tableName: randomTable(tag), schedule: false, quiet: true });
}

export type Principal = 'none' | 'badSignature' | 'expired' | 'buyer' | 'seller' | 'stranger' | 'admin';
export const PRINCIPALS: readonly Principal[] = ['none', 'badSignature', 'expired', 'buyer', 'seller', 'stranger', 'admin'];

export type Tokens = Record<Principal, string | undefined>;

export async function mintTokens(): Promise<Tokens> {
  return {
    none: undefined,
    badSignature: await mintToken({ sub: BUYER, secret: 'not-the-local-secret' }),
    expired: await mintToken({ sub: BUYER, ttlSeconds: -120 }),
    buyer: await mintToken({ sub: BUYER }),
    seller: await mintToken({ sub: SELLER }),
    stranger: await mintToken({ sub: STRANGER }),
    admin: await mintToken({ sub: ADMIN, groups: ['admin'] }),
  };
}

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface CallOptions {
  token?: string;
  /** A JSON value (stringified) ... */
  json?: unknown;
  /** ... or the raw body text, sent as is. */
  raw?: string;
  headers?: Record<string, string>;
}

export async function call(baseUrl: string, method: string, path: string, o: CallOptions = {}): Promise<Res> {
  const headers: Record<string, string> = {};
  if (o.json !== undefined || o.raw !== undefined) headers['content-type'] = 'application/json';
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  Object.assign(headers, o.headers ?? {});
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: o.raw !== undefined ? o.raw : o.json !== undefined ? JSON.stringify(o.json) : undefined,
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

/** The contract's one error shape, with `x-request-id` equal to `error.requestId`. */
export function expectErrorShape(res: Res, code?: string | readonly string[]): void {
  expect(res.body, `error body: ${res.text.slice(0, 300)}`).toBeTypeOf('object');
  const err = res.body?.error;
  expect(err, `no error object in ${res.text.slice(0, 300)}`).toBeTypeOf('object');
  expect(typeof err.code).toBe('string');
  expect(typeof err.message).toBe('string');
  expect(typeof err.requestId).toBe('string');
  expect(err.requestId.length).toBeGreaterThan(0);
  if (err.details !== undefined) expect(err.details).toBeTypeOf('object');
  expect(Object.keys(err).every((k) => ['code', 'message', 'details', 'requestId'].includes(k))).toBe(true);
  expect(res.headers.get('x-request-id')).toBe(err.requestId);
  if (typeof code === 'string') expect(err.code).toBe(code);
  else if (code) expect(code).toContain(err.code);
}

export const createBody = (milestones: number[] = [10_000, 20_000], sellerId = SELLER) => ({
  title: 'Matrix rift',
  sellerId,
  sellerAccountId: SELLER_ACCOUNT,
  currency: 'usd',
  milestones: milestones.map((amount, i) => ({ title: `M${i}`, amount })),
});

export async function createRift(api: string, buyerToken: string, milestones?: number[]): Promise<string> {
  const r = await call(api, 'POST', '/api/rifts', { token: buyerToken, json: createBody(milestones) });
  expect(r.status, r.text).toBe(201);
  return r.body.riftId as string;
}

export async function fundRift(api: string, buyerToken: string, riftId: string): Promise<{ paymentIntentId: string }> {
  const r = await call(api, 'POST', `/api/rifts/${riftId}/fund`, { token: buyerToken, json: { paymentMethodId: 'pm_card_visa' } });
  expect(r.status, r.text).toBe(200);
  expect(r.body.status).toBe('funded');
  return { paymentIntentId: r.body.paymentIntentId as string };
}

export async function fundedRift(api: string, buyerToken: string, milestones?: number[]): Promise<{ riftId: string; paymentIntentId: string }> {
  const riftId = await createRift(api, buyerToken, milestones);
  return { riftId, ...(await fundRift(api, buyerToken, riftId)) };
}

export const WEBHOOK_SECRET = () => process.env.STRIPE_WEBHOOK_SECRET || 'whsec_local';

/** A `stripe-signature` header for the payload (timestamp in seconds, default now). */
export function signWebhook(payload: string, opts: { secret?: string; timestamp?: number } = {}): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? WEBHOOK_SECRET(), timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000) });
}

export const newId = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;

/** A Stripe event envelope around `object`. */
export function stripeEvent(type: string, object: Record<string, unknown>, id = newId('evt')) {
  return { id, object: 'event', api_version: '2024-06-20', created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object } };
}

export async function postWebhook(api: string, event: unknown, opts: { secret?: string; timestamp?: number; signature?: string | null } = {}): Promise<Res> {
  const payload = typeof event === 'string' ? event : JSON.stringify(event);
  const headers: Record<string, string> = {};
  const sig = opts.signature === undefined ? signWebhook(payload, opts) : opts.signature;
  if (sig !== null) headers['stripe-signature'] = sig;
  return call(api, 'POST', '/api/webhooks/stripe', { raw: payload, headers });
}

/** Waits until the emulator has no webhook delivery pending (funding sends payment_intent.succeeded). */
export async function settleWebhooks(stripeUrl: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = (await (await fetch(`${stripeUrl}/_emulator/state`)).json()) as { webhookDeliveries?: { status: string }[] };
    if (!(state.webhookDeliveries ?? []).some((d) => d.status === 'pending')) return;
    if (Date.now() > until) throw new Error('webhook deliveries still pending');
    await new Promise((r) => setTimeout(r, 50));
  }
}
