/**
 * The Stripe emulator, driven through the real `stripe` SDK the service uses: endpoints, error
 * classes, idempotency, balance accounting, injected faults and signed webhooks.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseForm } from '../../local/stripe-emulator/form';
import { startStripeEmulator, type StripeEmulator } from '../../local/stripe-emulator/index';
import { freePort } from '../../local/ports';

const SECRET = 'whsec_test_secret';

interface Received {
  body: string;
  signature: string;
}

let emu: StripeEmulator;
let stripe: Stripe;
let hookServer: http.Server;
let hookUrl: string;
const received: Received[] = [];
/** Answer this many webhook deliveries with 500 before accepting. */
let failDeliveries = 0;

function client(extra: Partial<Stripe.StripeConfig> = {}, key = 'sk_test_local'): Stripe {
  return new Stripe(key, { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0, ...extra });
}

async function control<T = any>(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<{ status: number; body: T }> {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function available(currency = 'usd'): Promise<number> {
  const b = await stripe.balance.retrieve();
  return b.available.find((x) => x.currency === currency)!.amount;
}

async function waitFor<T>(fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function eventsOfType(type: string): Stripe.Event[] {
  return received.map((r) => JSON.parse(r.body) as Stripe.Event).filter((e) => e.type === type);
}

async function pay(amount = 5000, extra: Partial<Stripe.PaymentIntentCreateParams> = {}): Promise<Stripe.PaymentIntent> {
  return stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, ...extra });
}

async function catchErr(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  hookServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failDeliveries > 0) {
        failDeliveries--;
        res.writeHead(500).end();
        return;
      }
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['stripe-signature']) });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hooks`;
  emu = await startStripeEmulator({ port: 0, webhookUrl: hookUrl, webhookSecret: SECRET });
  stripe = client();
});

afterAll(async () => {
  await emu?.close();
  await new Promise((r) => hookServer?.close(r));
});

beforeEach(async () => {
  // Let the previous test's webhooks land first, so they don't hit this test's receiver.
  for (let i = 0; i < 100; i++) {
    const { body } = await control('/_emulator/state');
    if (!body.webhookDeliveries.some((d: { status: string }) => d.status === 'pending')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  emu.reset();
  received.length = 0;
  failDeliveries = 0;
});

describe('form parsing', () => {
  it('parses bracketed keys, indexed and appended arrays, keeps metadata keys as given', () => {
    const p = parseForm('amount=100&metadata[riftId]=rift_1&metadata[0]=x&expand[0]=a&expand[1]=b&list[]=1&list[]=2&a[b][c]=d&e=%5Bq%5D');
    expect(p).toEqual({ amount: '100', metadata: { riftId: 'rift_1', 0: 'x' }, expand: ['a', 'b'], list: ['1', '2'], a: { b: { c: 'd' } }, e: '[q]' });
  });
});

describe('auth and wire format', () => {
  it('refuses a request without an API key with 401', async () => {
    const res = await fetch(`${emu.url}/v1/balance`);
    expect(res.status).toBe(401);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const body = (await res.json()) as any;
    expect(body.error.type).toBe('invalid_request_error');
  });

  it('maps a bad key to StripeAuthenticationError', async () => {
    const err = await catchErr(client({}, 'not_a_key').balance.retrieve());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
  });

  it('answers an unknown URL with 404 invalid_request_error', async () => {
    const res = await fetch(`${emu.url}/v1/nothing`, { headers: { authorization: 'Bearer sk_test_x' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.type).toBe('invalid_request_error');
  });
});

describe('balance', () => {
  it('starts at 1,000,000 available in usd, cad, eur and gbp', async () => {
    const b = await stripe.balance.retrieve();
    expect(b.object).toBe('balance');
    expect(b.livemode).toBe(false);
    expect(b.available.map((x) => [x.currency, x.amount])).toEqual([
      ['usd', 1_000_000],
      ['cad', 1_000_000],
      ['eur', 1_000_000],
      ['gbp', 1_000_000],
    ]);
    expect(b.pending.every((x) => x.amount === 0)).toBe(true);
    expect(b.lastResponse.requestId).toMatch(/^req_/);
  });

  it('can be set through the control endpoint', async () => {
    expect((await control('/_emulator/balance', { currency: 'usd', available: 1234 })).status).toBe(200);
    expect(await available('usd')).toBe(1234);
    await control('/_emulator/balance', { currency: 'jpy', available: 50 });
    expect(await available('jpy')).toBe(50);
    expect((await control('/_emulator/balance', { currency: 'usd', available: 1.5 })).status).toBe(400);
  });
});

describe('payment intents', () => {
  it('creates and confirms with pm_card_visa: succeeded, balance credited, signed webhook sent', async () => {
    const pi = await pay(5000, { transfer_group: 'rift_1', metadata: { riftId: 'rift_1' }, description: 'funding' });
    expect(pi.id).toMatch(/^pi_/);
    expect(pi).toMatchObject({ object: 'payment_intent', status: 'succeeded', amount: 5000, amount_received: 5000, currency: 'usd', transfer_group: 'rift_1', metadata: { riftId: 'rift_1' }, livemode: false });
    expect(pi.latest_charge).toMatch(/^ch_/);
    expect(typeof pi.created).toBe('number');
    expect(await available()).toBe(1_005_000);

    const again = await stripe.paymentIntents.retrieve(pi.id);
    expect(again.status).toBe('succeeded');

    const hook = await waitFor(() => received.find((r) => JSON.parse(r.body).type === 'payment_intent.succeeded'));
    const event = stripe.webhooks.constructEvent(hook.body, hook.signature, SECRET);
    expect(event.id).toMatch(/^evt_/);
    expect(event).toMatchObject({ object: 'event', livemode: false, type: 'payment_intent.succeeded' });
    expect((event.data.object as Stripe.PaymentIntent).id).toBe(pi.id);
    expect((event.data.object as Stripe.PaymentIntent).metadata.riftId).toBe('rift_1');
    expect(() => stripe.webhooks.constructEvent(hook.body, hook.signature, 'whsec_wrong')).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });

  it('confirms in a second call, refuses a second confirm', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 700, currency: 'eur', payment_method: 'pm_card_visa' });
    expect(pi.status).toBe('requires_confirmation');
    expect(await available('eur')).toBe(1_000_000);
    const done = await stripe.paymentIntents.confirm(pi.id);
    expect(done.status).toBe('succeeded');
    expect(await available('eur')).toBe(1_000_700);
    const err = await catchErr(stripe.paymentIntents.confirm(pi.id));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.code).toBe('payment_intent_unexpected_state');
  });

  it('declines pm_card_chargeDeclined with StripeCardError and keeps the PI', async () => {
    const err = await catchErr(stripe.paymentIntents.create({ amount: 5000, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.statusCode).toBe(402);
    expect(err.code).toBe('card_declined');
    expect(err.decline_code).toBe('generic_decline');
    expect(err.requestId).toMatch(/^req_/);
    expect(err.payment_intent.status).toBe('requires_payment_method');
    const pi = await stripe.paymentIntents.retrieve(err.payment_intent.id);
    expect(pi.last_payment_error?.code).toBe('card_declined');
    expect(await available()).toBe(1_000_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(eventsOfType('payment_intent.succeeded')).toHaveLength(0);
  });

  it('reports unknown ids, unknown payment methods and missing params as StripeInvalidRequestError', async () => {
    const notFound = await catchErr(stripe.paymentIntents.retrieve('pi_nope'));
    expect(notFound).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(notFound.statusCode).toBe(404);
    expect(notFound.code).toBe('resource_missing');

    const badPm = await catchErr(stripe.paymentIntents.create({ amount: 100, currency: 'usd', payment_method: 'pm_nope', confirm: true }));
    expect(badPm.code).toBe('resource_missing');
    expect(badPm.param).toBe('payment_method');

    const noAmount = await catchErr(stripe.paymentIntents.create({ currency: 'usd' } as Stripe.PaymentIntentCreateParams));
    expect(noAmount).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(noAmount.code).toBe('parameter_missing');
    expect(noAmount.param).toBe('amount');
  });

  it('expands latest_charge and lists payment intents newest first', async () => {
    const a = await pay(100);
    const b = await pay(200, { expand: ['latest_charge'] });
    expect((b.latest_charge as Stripe.Charge).object).toBe('charge');
    expect((b.latest_charge as Stripe.Charge).amount).toBe(200);
    const list = await stripe.paymentIntents.list({ limit: 1 });
    expect(list.data.map((p) => p.id)).toEqual([b.id]);
    expect(list.has_more).toBe(true);
    const next = await stripe.paymentIntents.list({ limit: 1, starting_after: b.id });
    expect(next.data.map((p) => p.id)).toEqual([a.id]);
  });
});

describe('transfers and accounts', () => {
  it('creates, retrieves and lists by transfer_group; debits available', async () => {
    const t = await stripe.transfers.create({ amount: 2500, currency: 'usd', destination: 'acct_seller_1', transfer_group: 'rift_a', metadata: { riftId: 'rift_a', milestoneIndex: '0' } });
    await stripe.transfers.create({ amount: 100, currency: 'usd', destination: 'acct_seller_1', transfer_group: 'rift_b' });
    expect(t).toMatchObject({ object: 'transfer', amount: 2500, currency: 'usd', destination: 'acct_seller_1', transfer_group: 'rift_a', metadata: { milestoneIndex: '0' } });
    expect(t.id).toMatch(/^tr_/);
    expect((await stripe.transfers.retrieve(t.id)).id).toBe(t.id);
    const list = await stripe.transfers.list({ transfer_group: 'rift_a', limit: 10 });
    expect(list.object).toBe('list');
    expect(list.url).toBe('/v1/transfers');
    expect(list.data.map((x) => x.id)).toEqual([t.id]);
    expect(await available()).toBe(1_000_000 - 2600);
  });

  it('refuses a transfer over available with balance_insufficient and creates nothing', async () => {
    await control('/_emulator/balance', { currency: 'cad', available: 999 });
    const err = await catchErr(stripe.transfers.create({ amount: 1000, currency: 'cad', destination: 'acct_x', transfer_group: 'g' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('balance_insufficient');
    expect((await stripe.transfers.list({ transfer_group: 'g' })).data).toHaveLength(0);
    expect(await available('cad')).toBe(999);
  });

  it('creates accounts; one created with metadata[invalid]=true cannot receive transfers', async () => {
    const ok = await stripe.accounts.create({ type: 'express', country: 'US', metadata: { name: 'seller' } });
    expect(ok.id).toMatch(/^acct_/);
    expect(ok.payouts_enabled).toBe(true);
    expect((await stripe.accounts.retrieve(ok.id)).metadata?.name).toBe('seller');
    await stripe.transfers.create({ amount: 10, currency: 'usd', destination: ok.id });

    const bad = await stripe.accounts.create({ type: 'express', metadata: { invalid: 'true' } });
    expect(bad.payouts_enabled).toBe(false);
    const err = await catchErr(stripe.transfers.create({ amount: 10, currency: 'usd', destination: bad.id }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.code).toBe('account_invalid');
    expect(err.param).toBe('destination');

    const notAcct = await catchErr(stripe.transfers.create({ amount: 10, currency: 'usd', destination: 'bogus' }));
    expect(notAcct.code).toBe('resource_missing');

    const adopted = await stripe.accounts.retrieve('acct_never_created');
    expect(adopted.charges_enabled).toBe(true);
    expect((await stripe.accounts.list()).data.length).toBe(3);
  });
});

describe('refunds', () => {
  it('refunds partially then the rest, debits available, lists by payment_intent, refuses more', async () => {
    const pi = await pay(3000, { metadata: { riftId: 'r' } });
    const r1 = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000, reason: 'requested_by_customer', metadata: { refundId: 'ref_1' } });
    expect(r1).toMatchObject({ object: 'refund', amount: 1000, currency: 'usd', payment_intent: pi.id, charge: pi.latest_charge, status: 'succeeded', metadata: { refundId: 'ref_1' } });
    expect(r1.id).toMatch(/^re_/);

    const tooMuch = await catchErr(stripe.refunds.create({ payment_intent: pi.id, amount: 2001 }));
    expect(tooMuch).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(tooMuch.code).toBe('amount_too_large');

    const r2 = await stripe.refunds.create({ payment_intent: pi.id });
    expect(r2.amount).toBe(2000);
    expect((await stripe.refunds.retrieve(r2.id)).id).toBe(r2.id);

    const done = await catchErr(stripe.refunds.create({ payment_intent: pi.id, amount: 1 }));
    expect(done.code).toBe('charge_already_refunded');

    const list = await stripe.refunds.list({ payment_intent: pi.id });
    expect(list.data.map((r) => r.id)).toEqual([r2.id, r1.id]);
    expect(await available()).toBe(1_000_000 + 3000 - 3000);
  });

  it('refuses a refund of a payment that never succeeded', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
    const err = await catchErr(stripe.refunds.create({ payment_intent: pi.id }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
});

describe('idempotency', () => {
  it('replays the first response for the same key and params', async () => {
    const params = { amount: 400, currency: 'usd', destination: 'acct_s', transfer_group: 'rift_i' };
    const a = await stripe.transfers.create(params, { idempotencyKey: 'release:rift_i:0' });
    const b = await stripe.transfers.create(params, { idempotencyKey: 'release:rift_i:0' });
    expect(b.id).toBe(a.id);
    expect(b.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect((await stripe.transfers.list({ transfer_group: 'rift_i' })).data).toHaveLength(1);
    expect(await available()).toBe(1_000_000 - 400);
  });

  it('raises StripeIdempotencyError for the same key with other params', async () => {
    await stripe.transfers.create({ amount: 400, currency: 'usd', destination: 'acct_s' }, { idempotencyKey: 'k-mismatch' });
    const err = await catchErr(stripe.transfers.create({ amount: 401, currency: 'usd', destination: 'acct_s' }, { idempotencyKey: 'k-mismatch' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err.rawType).toBe('idempotency_error');
    expect(err.statusCode).toBe(400);
  });

  it('replays errors too (a card decline), like Stripe', async () => {
    const params = { amount: 100, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true };
    const a = await catchErr(stripe.paymentIntents.create(params, { idempotencyKey: 'decl' }));
    const b = await catchErr(stripe.paymentIntents.create(params, { idempotencyKey: 'decl' }));
    expect(b).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(b.payment_intent.id).toBe(a.payment_intent.id);
    expect((await stripe.paymentIntents.list()).data).toHaveLength(1);
  });

  it('does not save a request refused for bad params', async () => {
    await catchErr(stripe.transfers.create({ currency: 'usd', destination: 'acct_s' } as Stripe.TransferCreateParams, { idempotencyKey: 'bad-first' }));
    const t = await stripe.transfers.create({ amount: 5, currency: 'usd', destination: 'acct_s' }, { idempotencyKey: 'bad-first' });
    expect(t.id).toMatch(/^tr_/);
  });

  it('answers 409 idempotency_key_in_use while the first request with the key runs', async () => {
    await control('/_emulator/faults', { method: 'POST', path: '/v1/transfers', fault: 'delay', delayMs: 300 });
    const params = { amount: 10, currency: 'usd', destination: 'acct_s', transfer_group: 'race' };
    const first = stripe.transfers.create(params, { idempotencyKey: 'race-key' });
    await new Promise((r) => setTimeout(r, 50));
    const err = await catchErr(stripe.transfers.create(params, { idempotencyKey: 'race-key' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err.statusCode).toBe(409);
    expect(err.code).toBe('idempotency_key_in_use');
    const t = await first;
    const again = await stripe.transfers.create(params, { idempotencyKey: 'race-key' });
    expect(again.id).toBe(t.id);
    expect((await stripe.transfers.list({ transfer_group: 'race' })).data).toHaveLength(1);
  });
});

describe('faults', () => {
  it('error_500 fails before doing anything', async () => {
    await control('/_emulator/faults', { method: 'POST', path: '/v1/transfers', fault: 'error_500', times: 2 });
    const params = { amount: 10, currency: 'usd', destination: 'acct_s', transfer_group: 'f500' };
    for (let i = 0; i < 2; i++) {
      const err = await catchErr(stripe.transfers.create(params, { idempotencyKey: 'f500' }));
      expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
      expect(err.statusCode).toBe(500);
      expect(err.rawType).toBe('api_error');
    }
    expect((await stripe.transfers.list({ transfer_group: 'f500' })).data).toHaveLength(0);
    expect(await available()).toBe(1_000_000);
    // Fault used up: the same key now runs for real.
    const t = await stripe.transfers.create(params, { idempotencyKey: 'f500' });
    expect(t.lastResponse.headers['idempotent-replayed']).toBeUndefined();
  });

  it('matches a path and everything under it, for the given method only', async () => {
    const t = await stripe.transfers.create({ amount: 10, currency: 'usd', destination: 'acct_s' });
    await control('/_emulator/faults', { method: 'GET', path: '/v1/transfers', fault: 'error_500', times: 3 });
    expect(await catchErr(stripe.transfers.retrieve(t.id))).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(await catchErr(stripe.transfers.list())).toBeInstanceOf(Stripe.errors.StripeAPIError);
    await stripe.balance.retrieve();
    await stripe.transfers.create({ amount: 10, currency: 'usd', destination: 'acct_s' });
    expect((await control('/_emulator/faults')).body.faults).toMatchObject([{ times: 1 }]);
    await control('/_emulator/faults', undefined, 'DELETE');
    await stripe.transfers.retrieve(t.id);
  });

  it('commit_then_error_500 does the work, answers 500, and a retry with the key replays the success', async () => {
    await control('/_emulator/faults', { method: 'POST', path: '/v1/transfers', fault: 'commit_then_error_500' });
    const params = { amount: 700, currency: 'usd', destination: 'acct_s', transfer_group: 'commit' };
    const err = await catchErr(stripe.transfers.create(params, { idempotencyKey: 'commit-key' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err.statusCode).toBe(500);
    const listed = await stripe.transfers.list({ transfer_group: 'commit' });
    expect(listed.data).toHaveLength(1);
    expect(await available()).toBe(1_000_000 - 700);

    const retry = await stripe.transfers.create(params, { idempotencyKey: 'commit-key' });
    expect(retry.id).toBe(listed.data[0]!.id);
    expect(retry.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect((await stripe.transfers.list({ transfer_group: 'commit' })).data).toHaveLength(1);
    expect(await available()).toBe(1_000_000 - 700);
  });

  it('commit_then_error_500 is absorbed by an SDK that retries with its own key', async () => {
    await control('/_emulator/faults', { method: 'POST', path: '/v1/refunds', fault: 'commit_then_error_500' });
    const pi = await pay(900);
    const retrying = client({ maxNetworkRetries: 1 });
    const r = await retrying.refunds.create({ payment_intent: pi.id, amount: 300 });
    expect(r.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect((await stripe.refunds.list({ payment_intent: pi.id })).data).toHaveLength(1);
  });

  it('timeout hangs the request: the SDK raises StripeConnectionError and nothing is done', async () => {
    await control('/_emulator/faults', { method: 'POST', path: '/v1/transfers', fault: 'timeout' });
    const impatient = client({ timeout: 500 });
    const started = Date.now();
    const err = await catchErr(impatient.transfers.create({ amount: 10, currency: 'usd', destination: 'acct_s', transfer_group: 'slow' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await stripe.transfers.list({ transfer_group: 'slow' })).data).toHaveLength(0);
  });

  it('validates fault definitions', async () => {
    expect((await control('/_emulator/faults', { path: '/v1/transfers', fault: 'explode' })).status).toBe(400);
    expect((await control('/_emulator/faults', { path: 'v1/transfers', fault: 'error_500' })).status).toBe(400);
    expect((await control('/_emulator/faults', { path: '/v1/transfers', fault: 'error_500', times: 0 })).status).toBe(400);
  });

  it('close() returns promptly while a request hangs', async () => {
    const other = await startStripeEmulator();
    await fetch(`${other.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ path: '/v1/balance', fault: 'timeout' }) });
    const hanging = fetch(`${other.url}/v1/balance`, { headers: { authorization: 'Bearer sk_test_x' } }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await hanging).toBeInstanceOf(Error);
  });
});

describe('disputes and webhooks', () => {
  it('opens a chargeback with charge.dispute.created; the disputed charge cannot be refunded', async () => {
    const pi = await pay(4000, { metadata: { riftId: 'rift_d' } });
    const { status, body: dispute } = await control(`/_emulator/payment_intents/${pi.id}/dispute`, {});
    expect(status).toBe(200);
    expect(dispute).toMatchObject({ object: 'dispute', amount: 4000, charge: pi.latest_charge, payment_intent: pi.id, reason: 'fraudulent', status: 'needs_response' });
    expect(dispute.id).toMatch(/^dp_/);
    const hook = await waitFor(() => received.find((r) => JSON.parse(r.body).type === 'charge.dispute.created'));
    const event = stripe.webhooks.constructEvent(hook.body, hook.signature, SECRET);
    expect((event.data.object as Stripe.Dispute).id).toBe(dispute.id);

    expect((await control(`/_emulator/payment_intents/${pi.id}/dispute`, { amount: 10 })).status).toBe(400);
    const err = await catchErr(stripe.refunds.create({ payment_intent: pi.id }));
    expect(err.code).toBe('charge_disputed');
  });

  it('opens a partial dispute with {amount}', async () => {
    const pi = await pay(4000);
    const { body } = await control(`/_emulator/payment_intents/${pi.id}/dispute`, { amount: 1500 });
    expect(body.amount).toBe(1500);
    expect((await control('/_emulator/payment_intents/pi_nope/dispute', {})).status).toBe(404);
  });

  it('retries a failed delivery with backoff', async () => {
    failDeliveries = 2;
    const pi = await pay(100);
    const hook = await waitFor(() => received.find((r) => JSON.parse(r.body).type === 'payment_intent.succeeded'));
    expect(JSON.parse(hook.body).data.object.id).toBe(pi.id);
    const { body: state } = await control('/_emulator/state');
    expect(state.webhookDeliveries[0]).toMatchObject({ status: 'delivered', attempts: 3, delivered: 1 });
  });

  it('resends an event on demand (duplicate delivery, same event id)', async () => {
    await pay(100);
    const first = await waitFor(() => received[0]);
    const eventId = JSON.parse(first.body).id as string;
    const { status, body } = await control('/_emulator/webhooks/resend', { eventId });
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'delivered', delivered: 2 });
    expect(received.map((r) => JSON.parse(r.body).id)).toEqual([eventId, eventId]);
    stripe.webhooks.constructEvent(received[1]!.body, received[1]!.signature, SECRET);
    expect((await control('/_emulator/webhooks/resend', { eventId: 'evt_nope' })).status).toBe(404);
  });

  it('records events without sending when no webhook URL is set', async () => {
    emu.setWebhookUrl(undefined);
    try {
      await pay(100);
      await new Promise((r) => setTimeout(r, 100));
      expect(received).toHaveLength(0);
      const { body } = await control('/_emulator/state');
      expect(body.events).toHaveLength(1);
      expect(body.webhookDeliveries[0].status).toBe('no_url');
    } finally {
      emu.setWebhookUrl(hookUrl);
    }
  });
});

describe('state and reset', () => {
  it('exposes every object for ledger checks, and reset clears them', async () => {
    const pi = await pay(1000);
    await stripe.transfers.create({ amount: 300, currency: 'usd', destination: 'acct_s' });
    await stripe.refunds.create({ payment_intent: pi.id, amount: 200 });
    const { body } = await control('/_emulator/state');
    expect(body.paymentIntents).toHaveLength(1);
    expect(body.charges).toHaveLength(1);
    expect(body.transfers).toHaveLength(1);
    expect(body.refunds).toHaveLength(1);
    expect(body.balances.usd).toEqual({ available: 1_000_000 + 1000 - 300 - 200, pending: 0 });
    expect(body.events.map((e: Stripe.Event) => e.type)).toEqual(['payment_intent.succeeded']);

    expect((await control('/_emulator/reset', {})).status).toBe(200);
    const after = (await control('/_emulator/state')).body;
    expect(after.paymentIntents).toHaveLength(0);
    expect(after.transfers).toHaveLength(0);
    expect(after.events).toHaveLength(0);
    expect(after.balances.usd.available).toBe(1_000_000);
    expect(after.webhookUrl).toBe(hookUrl);
  });
});

describe('main.ts (npm run stripe-emulator)', () => {
  function run(env: Record<string, string>): { done: Promise<{ code: number | null; out: string; err: string }>; kill: () => void; firstLine: Promise<string> } {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/stripe-emulator/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let resolveLine: (s: string) => void;
    const firstLine = new Promise<string>((r) => (resolveLine = r));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolveLine(out.split('\n')[0]!);
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const done = new Promise<{ code: number | null; out: string; err: string }>((r) => child.on('exit', (code) => r({ code, out, err })));
    return { done, kill: () => child.kill('SIGTERM'), firstLine };
  }

  it('prints its URL, serves, and stops on SIGTERM', async () => {
    const port = await freePort();
    const proc = run({ STRIPE_EMULATOR_PORT: String(port) });
    expect(await proc.firstLine).toContain(`http://127.0.0.1:${port}`);
    const res = await fetch(`http://127.0.0.1:${port}/v1/balance`, { headers: { authorization: 'Bearer sk_test_local' } });
    expect(res.status).toBe(200);
    proc.kill();
    expect((await proc.done).code).toBe(0);
  });

  it('names STRIPE_EMULATOR_PORT when the port is in use', async () => {
    const proc = run({ STRIPE_EMULATOR_PORT: String(emu.port) });
    const { code, err } = await proc.done;
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain('STRIPE_EMULATOR_PORT');
  });
});
