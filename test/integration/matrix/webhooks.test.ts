/**
 * The Stripe webhook: signatures (bad, tampered, missing, malformed, outside the 300 s tolerance)
 * and exactly-once processing of an event id, delivered twice in a row and five times at once.
 * Events are built here in Stripe's shapes and signed with the stripe SDK's test helper.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../../local/stack';
import { dumpTable } from '../../support/dump';
import {
  call, createRift, expectErrorShape, fundedRift, mintTokens, newId, postWebhook, settleWebhooks, signWebhook, startStack, stripeEvent, type Tokens,
} from './helpers';

let stack: LocalStack;
let api: string;
let tokens: Tokens;

beforeAll(async () => {
  stack = await startStack('webhooks');
  api = stack.apiUrl;
  tokens = await mintTokens();
});
afterAll(async () => {
  await stack?.stop();
});

const rift = async (riftId: string) => (await call(api, 'GET', `/api/rifts/${riftId}`, { token: tokens.buyer })).body;
const events = async (riftId: string) => (await call(api, 'GET', `/api/rifts/${riftId}/events`, { token: tokens.buyer })).body.events as { type: string; actor: string; details?: Record<string, unknown> }[];
const count = (evs: { type: string }[], type: string) => evs.filter((e) => e.type === type).length;

const paymentIntent = (riftId: string, amount: number, currency = 'usd', id = newId('pi')) => ({
  id,
  object: 'payment_intent',
  amount,
  amount_received: amount,
  currency,
  metadata: { riftId },
  status: 'succeeded',
  transfer_group: riftId,
});
const dispute = (paymentIntentId: string, amount: number, id = newId('dp')) => ({
  id,
  object: 'dispute',
  payment_intent: paymentIntentId,
  charge: newId('ch'),
  amount,
  currency: 'usd',
  reason: 'fraudulent',
  status: 'needs_response',
});

describe('signatures', () => {
  const ev = () => stripeEvent('customer.created', { id: newId('cus'), object: 'customer' });

  it('a valid signature is accepted (control)', async () => {
    const res = await postWebhook(api, ev());
    expect(res.status, res.text).toBe(200);
  });

  it.each([
    ['signed with another secret', (p: string) => signWebhook(p, { secret: 'whsec_not_ours' })],
    ['signed for another payload (tampered body)', (p: string) => signWebhook(p.replace('customer', 'customex'))],
    ['a timestamp 301 s old (outside the 300 s tolerance)', (p: string) => signWebhook(p, { timestamp: Math.floor(Date.now() / 1000) - 301 })],
    ['a timestamp an hour old', (p: string) => signWebhook(p, { timestamp: Math.floor(Date.now() / 1000) - 3600 })],
    ['a timestamp of 1 (1970; 0 would make the SDK helper use now)', (p: string) => signWebhook(p, { timestamp: 1 })],
    ['an old timestamp swapped into a fresh signature', (p: string) => signWebhook(p).replace(/t=\d+/, `t=${Math.floor(Date.now() / 1000) - 1000}`)],
    ['a fresh timestamp swapped into an old signature (replay)', (p: string) => signWebhook(p, { timestamp: Math.floor(Date.now() / 1000) - 1000 }).replace(/t=\d+/, `t=${Math.floor(Date.now() / 1000)}`)],
    ['an empty header', () => ''],
    ['a malformed header', () => 't=abc,v1=zzz'],
    ['only a v0 signature', (p: string) => signWebhook(p).replace('v1=', 'v0=')],
    ['no timestamp', (p: string) => signWebhook(p).replace(/t=\d+,/, '')],
    ['the secret itself as the signature', () => `t=${Math.floor(Date.now() / 1000)},v1=whsec_local`],
  ])('%s → 400 invalid_signature', async (_n, sign) => {
    const e = ev();
    const payload = JSON.stringify(e);
    const res = await postWebhook(api, payload, { signature: sign(payload) });
    expect(res.status, res.text).toBe(400);
    expectErrorShape(res, 'invalid_signature');
  });

  it('a missing stripe-signature header → 400 invalid_signature', async () => {
    const res = await postWebhook(api, ev(), { signature: null });
    expect(res.status).toBe(400);
    expectErrorShape(res, 'invalid_signature');
  });

  it('a timestamp 200 s old is within the tolerance', async () => {
    const res = await postWebhook(api, ev(), { timestamp: Math.floor(Date.now() / 1000) - 200 });
    expect(res.status, res.text).toBe(200);
  });

  it('a badly signed payment_intent.succeeded changes nothing (and a bearer token does not help)', async () => {
    const riftId = await createRift(api, tokens.buyer!, [10_000]);
    const before = await dumpTable(stack.tableName);
    const e = stripeEvent('payment_intent.succeeded', paymentIntent(riftId, 10_000));
    for (const opts of [{ secret: 'whsec_wrong' }, { timestamp: Math.floor(Date.now() / 1000) - 301 }, { signature: null }]) {
      const res = await postWebhook(api, e, opts);
      expect(res.status).toBe(400);
      expectErrorShape(res, 'invalid_signature');
    }
    const withToken = await call(api, 'POST', '/api/webhooks/stripe', { raw: JSON.stringify(e), token: tokens.admin });
    expect(withToken.status).toBe(400);
    expect((await rift(riftId)).status).toBe('awaiting_funding');
    expect(await dumpTable(stack.tableName)).toEqual(before);
  });
});

describe('payment_intent.succeeded: each event id funds once', () => {
  it('delivered twice in a row: funded once, one rift.funded event', async () => {
    const riftId = await createRift(api, tokens.buyer!, [10_000, 5_000]);
    const e = stripeEvent('payment_intent.succeeded', paymentIntent(riftId, 15_000));
    const first = await postWebhook(api, e);
    expect(first.status, first.text).toBe(200);
    const second = await postWebhook(api, e);
    expect(second.status, second.text).toBe(200);
    const r = await rift(riftId);
    expect(r.status).toBe('funded');
    expect(r.amounts).toEqual({ total: 15_000, funded: 15_000, released: 0, refunded: 0, held: 15_000 });
    expect(r.paymentIntentId).toBe(e.data.object.id);
    const evs = await events(riftId);
    expect(count(evs, 'rift.funded')).toBe(1);
    expect(evs.find((x) => x.type === 'rift.funded')!.actor).toBe('stripe');
  });

  it('delivered five times at once: funded once', async () => {
    const riftId = await createRift(api, tokens.buyer!, [7_000]);
    const e = stripeEvent('payment_intent.succeeded', paymentIntent(riftId, 7_000));
    const results = await Promise.all(Array.from({ length: 5 }, () => postWebhook(api, e)));
    for (const r of results) expect(r.status, r.text).toBe(200);
    const r = await rift(riftId);
    expect(r.amounts.funded).toBe(7_000);
    expect(r.amounts.held).toBe(7_000);
    expect(count(await events(riftId), 'rift.funded')).toBe(1);
  });

  it('two different events for one rift at once (a duplicate with a new id): still funded once', async () => {
    const riftId = await createRift(api, tokens.buyer!, [4_000]);
    const pi = paymentIntent(riftId, 4_000);
    const results = await Promise.all(Array.from({ length: 5 }, () => postWebhook(api, stripeEvent('payment_intent.succeeded', pi))));
    for (const r of results) expect(r.status, r.text).toBe(200);
    expect((await rift(riftId)).amounts.funded).toBe(4_000);
    expect(count(await events(riftId), 'rift.funded')).toBe(1);
  });

  it('for a rift already funded through the API: no second funding', async () => {
    const { riftId, paymentIntentId } = await fundedRift(api, tokens.buyer!, [10_000, 20_000]);
    await settleWebhooks(stack.stripeUrl);
    const res = await postWebhook(api, stripeEvent('payment_intent.succeeded', paymentIntent(riftId, 30_000, 'usd', paymentIntentId)));
    expect(res.status).toBe(200);
    const r = await rift(riftId);
    expect(r.amounts.funded).toBe(30_000);
    expect(count(await events(riftId), 'rift.funded')).toBe(1);
  });

  it('with the wrong amount, the wrong currency or an unknown rift: acknowledged, nothing funded', async () => {
    const riftId = await createRift(api, tokens.buyer!, [9_000]);
    for (const pi of [paymentIntent(riftId, 8_999), paymentIntent(riftId, 9_000, 'eur'), paymentIntent('rift_doesnotexist', 9_000)]) {
      const res = await postWebhook(api, stripeEvent('payment_intent.succeeded', pi));
      expect(res.status, res.text).toBe(200);
    }
    expect((await rift(riftId)).status).toBe('awaiting_funding');
    expect(count(await events(riftId), 'rift.funded')).toBe(0);
  });
});

describe('charge.dispute.created: each event id opens one dispute', () => {
  it('delivered twice in a row: one chargeback dispute, one dispute.opened', async () => {
    const { riftId, paymentIntentId } = await fundedRift(api, tokens.buyer!, [10_000, 20_000]);
    await settleWebhooks(stack.stripeUrl);
    const e = stripeEvent('charge.dispute.created', dispute(paymentIntentId, 30_000));
    for (let i = 0; i < 2; i++) {
      const res = await postWebhook(api, e);
      expect(res.status, res.text).toBe(200);
    }
    const r = await rift(riftId);
    expect(r.status).toBe('disputed');
    expect(r.dispute).toMatchObject({ status: 'open', source: 'chargeback', openedBy: 'stripe' });
    const evs = await events(riftId);
    expect(count(evs, 'dispute.opened')).toBe(1);
  });

  it('delivered five times at once: one dispute, one dispute.opened', async () => {
    const { riftId, paymentIntentId } = await fundedRift(api, tokens.buyer!, [10_000]);
    await settleWebhooks(stack.stripeUrl);
    const before = await rift(riftId);
    const e = stripeEvent('charge.dispute.created', dispute(paymentIntentId, 10_000));
    const results = await Promise.all(Array.from({ length: 5 }, () => postWebhook(api, e)));
    for (const res of results) expect(res.status, res.text).toBe(200);
    const r = await rift(riftId);
    expect(r.status).toBe('disputed');
    expect(r.dispute.source).toBe('chargeback');
    expect(count(await events(riftId), 'dispute.opened')).toBe(1);
    expect(r.amounts).toEqual(before.amounts);
  });

  it('a second chargeback (another event id) while one is open: recorded in the audit trail, no second dispute', async () => {
    const { riftId, paymentIntentId } = await fundedRift(api, tokens.buyer!, [10_000]);
    await settleWebhooks(stack.stripeUrl);
    expect((await postWebhook(api, stripeEvent('charge.dispute.created', dispute(paymentIntentId, 10_000)))).status).toBe(200);
    const opened = (await rift(riftId)).dispute;
    const second = stripeEvent('charge.dispute.created', dispute(paymentIntentId, 10_000));
    await Promise.all([postWebhook(api, second), postWebhook(api, second), postWebhook(api, second)]);
    const r = await rift(riftId);
    expect(r.dispute.disputeId).toBe(opened.disputeId);
    const evs = (await events(riftId)).filter((x) => x.type === 'dispute.opened');
    // The first opened the dispute; the second event id is recorded once, whatever its deliveries.
    expect(evs).toHaveLength(2);
    expect(evs.filter((x) => x.details?.recordedOnly === true)).toHaveLength(1);
  });

  it('for an unknown payment intent: acknowledged, nothing opened', async () => {
    const res = await postWebhook(api, stripeEvent('charge.dispute.created', dispute(newId('pi'), 100)));
    expect(res.status, res.text).toBe(200);
  });
});
