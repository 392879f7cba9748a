/**
 * Logs never carry a secret: everything the process writes (stdout, stderr, console.*) during a
 * full scenario — create, fund (and a declined card), release (and one that gets a 502 from an
 * injected Stripe fault), refund, dispute, resolve, webhooks (good and badly signed), bad tokens,
 * the balance monitor (with an alert mailed) and the reconciler through the local invoke path —
 * is captured and searched for the Stripe secret key, the webhook secret, the local JWT secret and
 * every bearer token used. Logging runs at DEBUG so that as much as possible is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../../local/stack';
import { mintToken } from '../../../local/jwt';
import { ADMIN, BUYER, SELLER, call, createRift, fundRift, newId, postWebhook, settleWebhooks, startStack, stripeEvent } from './helpers';

const captured: string[] = [];
const restore: (() => void)[] = [];

function capture() {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stream.write;
    restore.push(() => {
      stream.write = original;
    });
  }
  for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const original = console[m];
    console[m] = (...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === 'string' ? a : (() => { try { return JSON.stringify(a); } catch { return String(a); } })())).join(' '));
      original.apply(console, args);
    };
    restore.push(() => {
      console[m] = original;
    });
  }
}

let stack: LocalStack;
const tokens: string[] = [];
const SAVED_ENV = { LOG_LEVEL: process.env.LOG_LEVEL, POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL };

beforeAll(async () => {
  process.env.LOG_LEVEL = 'DEBUG';
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  capture();
  stack = await startStack('logs');
});
afterAll(async () => {
  await stack?.stop();
  for (const r of restore.reverse()) r();
  Object.assign(process.env, SAVED_ENV);
  for (const [k, v] of Object.entries(SAVED_ENV)) if (v === undefined) delete process.env[k];
});

const token = async (o: Parameters<typeof mintToken>[0]) => {
  const t = await mintToken(o);
  tokens.push(t);
  return t;
};

describe('a full scenario', () => {
  it('runs every kind of operation (the captured output is searched below)', async () => {
    const api = stack.apiUrl;
    const buyer = await token({ sub: BUYER });
    const seller = await token({ sub: SELLER });
    const admin = await token({ sub: ADMIN, groups: ['admin', 'ops'] });
    const bad = await token({ sub: BUYER, secret: 'another-secret' });
    const expired = await token({ sub: BUYER, ttlSeconds: -60 });

    // Refused tokens.
    expect((await call(api, 'GET', '/api/rifts', { token: bad })).status).toBe(401);
    expect((await call(api, 'GET', '/api/rifts', { token: expired })).status).toBe(401);

    // Create, a declined card, fund.
    const riftId = await createRift(api, buyer, [10_000, 20_000, 30_000]);
    const declined = await call(api, 'POST', `/api/rifts/${riftId}/fund`, { token: buyer, json: { paymentMethodId: 'pm_card_chargeDeclined' } });
    expect(declined.status).toBe(402);
    const { paymentIntentId } = await fundRift(api, buyer, riftId);

    // Release; then a release that Stripe fails (502), finished by the reconciler.
    expect((await call(api, 'POST', `/api/rifts/${riftId}/milestones/0/release`, { token: buyer, json: {}, headers: { 'idempotency-key': newId('k') } })).status).toBe(200);
    const fault = await fetch(`${stack.stripeUrl}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'POST', path: '/v1/transfers', fault: 'error_500', times: 5 }),
    });
    expect(fault.status).toBe(200);
    const failed = await call(api, 'POST', `/api/rifts/${riftId}/milestones/1/release`, { token: admin, json: {} });
    expect(failed.status).toBe(502);
    expect((await fetch(`${stack.stripeUrl}/_emulator/faults`, { method: 'DELETE' })).status).toBe(200);
    await stack.invoke('reconciler');

    // Refund (seller), dispute (buyer), resolve (admin).
    expect((await call(api, 'POST', `/api/rifts/${riftId}/refunds`, { token: seller, json: { amount: 1_000, reason: 'partial' }, headers: { 'idempotency-key': newId('k') } })).status).toBe(201);
    expect((await call(api, 'POST', `/api/rifts/${riftId}/disputes`, { token: buyer, json: { reason: 'late delivery' } })).status).toBe(201);
    expect((await call(api, 'POST', `/api/rifts/${riftId}/disputes/resolve`, { token: admin, json: { outcome: 'dismiss' } })).status).toBe(200);
    expect((await call(api, 'GET', `/api/rifts/${riftId}/events`, { token: seller })).status).toBe(200);

    // Webhooks: a chargeback, a duplicate, a badly signed one, one signed with a wrong secret.
    const dp = stripeEvent('charge.dispute.created', { id: newId('dp'), object: 'dispute', payment_intent: paymentIntentId, amount: 1_000, reason: 'fraudulent' });
    expect((await postWebhook(api, dp)).status).toBe(200);
    expect((await postWebhook(api, dp)).status).toBe(200);
    expect((await postWebhook(api, dp, { signature: 't=1,v1=deadbeef' })).status).toBe(400);
    expect((await postWebhook(api, dp, { secret: 'whsec_wrong_secret' })).status).toBe(400);
    expect((await call(api, 'POST', '/api/rifts', { token: buyer, raw: '{' })).status).toBe(400);

    // Balance monitor: the scheduled path, and an admin run that mails an alert.
    await stack.invoke('balance-monitor');
    const run = await call(api, 'POST', '/api/admin/stripe-balance', { token: admin, json: { thresholds: { USD: 100_000_000 }, force: true } });
    expect(run.status, run.text).toBe(200);
    expect(run.body.emailed).toBe(true);
    expect((await call(api, 'GET', '/api/admin/stripe-balance', { token: admin })).status).toBe(200);
    await stack.invoke('reconciler');
    await settleWebhooks(stack.stripeUrl);
  });
});

describe('what the process wrote', () => {
  const all = () => captured.join('\n');

  it('was captured (the handlers log through it)', () => {
    expect(all()).toContain('stripe webhook');
    expect(all()).toContain('balance monitor run');
    expect(all()).toContain('reconciler run');
    // the 502 of the faulted release went through the error path
    expect(all()).toContain('request failed');
    expect(all().length).toBeGreaterThan(1_000);
  });

  it('never contains the Stripe secret key', () => {
    expect(process.env.STRIPE_SECRET_KEY).toBe('sk_test_local');
    expect(all()).not.toContain('sk_test_local');
    expect(all()).not.toMatch(/\b[sr]k_(test|live)_[A-Za-z0-9]+/);
    expect(all()).not.toMatch(/sk_\w*local/);
  });

  it('never contains the webhook secret', () => {
    expect(all()).not.toContain(process.env.STRIPE_WEBHOOK_SECRET || 'whsec_local');
    expect(all()).not.toContain('whsec_local');
    expect(all()).not.toMatch(/whsec_[A-Za-z0-9]+/);
  });

  it('never contains the local JWT secret', () => {
    expect(all()).not.toContain('rift-local-secret');
  });

  it('never contains a whole bearer token, nor a token signature', () => {
    expect(tokens.length).toBeGreaterThanOrEqual(5);
    const text = all();
    for (const t of tokens) {
      expect(text).not.toContain(t);
      expect(text).not.toContain(t.split('.')[2]!);
    }
    expect(text).not.toMatch(/Bearer\s+eyJ/i);
  });
});
