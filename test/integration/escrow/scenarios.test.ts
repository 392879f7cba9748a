/**
 * The escrow scenarios through the local API over HTTP: real handlers, DynamoDB Local, the
 * Stripe emulator (webhooks included). After every scenario the ledger is checked against Stripe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/adapters/config';
import { dynamoClient } from '../../../functions/adapters/dynamo-client';
import { createRiftStore } from '../../../functions/adapters/rift-store';
import type { MoneyIntent } from '../../../functions/core/ports';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Api, expectError, party, startApi, uid, type ApiResponse, type AuditEvent, type Rift } from '../../support/api';

let api: Api;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.stack.stop();
});

const types = (events: AuditEvent[]) => events.map((e) => e.type);
const transfersOf = async (riftId: string) => (await api.emulatorState()).transfers.filter((t) => t.transfer_group === riftId);

/** A refused request: the error, and the rift and its events exactly as before. */
async function refused(riftId: string, call: () => Promise<ApiResponse>, status: number, code: string) {
  const before = await api.snapshot(riftId);
  const res = await call();
  const error = expectError(res, status, code);
  expect(await api.snapshot(riftId)).toEqual(before);
  return error;
}

describe('the nine scenarios', () => {
  it('1 refund before release: a full refund, then transfers are blocked (rift_closed)', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const res = await api.refund(seller, rift.riftId, { reason: 'cancelled' });
    expect(res.status, res.text).toBe(201);
    expect(res.body.refund).toMatchObject({ riftId: rift.riftId, amount: 30_000, currency: 'usd', status: 'completed', reason: 'cancelled' });
    expect(res.body.refund.refundId).toMatch(/^ref_/);
    expect(res.body.refund.stripeRefundId).toMatch(/^re_/);
    expect(res.body.rift.status).toBe('refunded');
    expect(res.body.rift.amounts).toEqual({ total: 30_000, funded: 30_000, released: 0, refunded: 30_000, held: 0 });
    await api.assertLedger(rift.riftId);

    for (const index of [0, 1]) await refused(rift.riftId, () => api.release(buyer, rift.riftId, index), 409, 'rift_closed');
    expect(await transfersOf(rift.riftId)).toEqual([]);
    await api.assertLedger(rift.riftId);
  });

  it('2 partial refund before release: the rest can still be released', async () => {
    const { buyer, seller } = party();
    const ms = [10_000, 10_000, 10_000].map((amount, i) => ({ title: `m${i}`, amount }));
    const rift = await api.fundedRift(buyer, seller, ms);
    const ref = await api.refund(seller, rift.riftId, { amount: 10_000 });
    expect(ref.status, ref.text).toBe(201);
    expect(ref.body.rift).toMatchObject({ status: 'funded', amounts: { funded: 30_000, refunded: 10_000, held: 20_000, released: 0 } });
    await api.assertLedger(rift.riftId);

    for (const index of [0, 1]) {
      const r = await api.release(buyer, rift.riftId, index);
      expect(r.status, r.text).toBe(200);
      await api.assertLedger(rift.riftId);
    }
    const after = await api.assertLedger(rift.riftId);
    expect(after.status).toBe('closed');
    expect(after.amounts).toEqual({ total: 30_000, funded: 30_000, released: 20_000, refunded: 10_000, held: 0 });
    await refused(rift.riftId, () => api.release(buyer, rift.riftId, 2), 409, 'rift_closed');
    await api.assertLedger(rift.riftId);
  });

  it('2b partial refund leaves less held than a milestone: insufficient_held_funds, the rest refundable', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller); // 10,000 + 20,000
    expect((await api.refund(seller, rift.riftId, { amount: 5_000 })).status).toBe(201);
    expect((await api.release(buyer, rift.riftId, 1)).status).toBe(200); // 20,000 of the 25,000 held
    await api.assertLedger(rift.riftId);
    const err = await refused(rift.riftId, () => api.release(buyer, rift.riftId, 0), 409, 'insufficient_held_funds');
    expect(err.message.length).toBeGreaterThan(0);
    const rest = await api.refund(seller, rift.riftId);
    expect(rest.status, rest.text).toBe(201);
    expect(rest.body.refund.amount).toBe(5_000);
    expect(rest.body.rift.status).toBe('closed');
    await api.assertLedger(rift.riftId);
  });

  it('3 refund after a milestone release: a full refund is rejected (details.held), a partial of the unreleased amount accepted', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    expect((await api.release(buyer, rift.riftId, 0)).status).toBe(200);
    await api.assertLedger(rift.riftId);

    const err = await refused(rift.riftId, () => api.refund(seller, rift.riftId, { amount: 30_000 }), 409, 'refund_exceeds_held');
    expect(err.details).toEqual({ held: 20_000 });
    await refused(rift.riftId, () => api.refund(seller, rift.riftId, { amount: 20_001 }), 409, 'refund_exceeds_held');
    await api.assertLedger(rift.riftId);

    const ok = await api.refund(seller, rift.riftId, { amount: 20_000 });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.rift.amounts).toEqual({ total: 30_000, funded: 30_000, released: 10_000, refunded: 20_000, held: 0 });
    expect(ok.body.rift.status).toBe('closed');
    await api.assertLedger(rift.riftId);
  });

  it('3b after a release, a refund without an amount refunds exactly what is held', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    expect((await api.release(buyer, rift.riftId, 1)).status).toBe(200);
    const ok = await api.refund(admin, rift.riftId);
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.refund.amount).toBe(10_000);
    expect(ok.body.rift).toMatchObject({ status: 'closed', amounts: { released: 20_000, refunded: 10_000, held: 0 } });
    await api.assertLedger(rift.riftId);
  });

  it('4 dispute created while funded: releases blocked (rift_disputed), a seller refund too', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    const d = await api.openDispute(buyer, rift.riftId);
    expect(d.status, d.text).toBe(201);
    expect(d.body.rift.status).toBe('disputed');
    await api.assertLedger(rift.riftId);

    await refused(rift.riftId, () => api.release(buyer, rift.riftId, 0), 409, 'rift_disputed');
    await refused(rift.riftId, () => api.release(admin, rift.riftId, 1), 409, 'rift_disputed');
    await refused(rift.riftId, () => api.refund(seller, rift.riftId, { amount: 100 }), 409, 'rift_disputed');
    expect(await transfersOf(rift.riftId)).toEqual([]);
    const after = await api.assertLedger(rift.riftId);
    expect(after.milestones.map((m) => m.status)).toEqual(['pending', 'pending']);
  });

  it('5 dispute after some releases: future releases frozen, existing ones stay', async () => {
    const { buyer, seller, admin } = party();
    const ms = [1_000, 2_000, 3_000].map((amount, i) => ({ title: `m${i}`, amount }));
    const rift = await api.fundedRift(buyer, seller, ms);
    const r0 = await api.release(buyer, rift.riftId, 0);
    expect(r0.status).toBe(200);
    const transferId = r0.body.release.transferId;

    const d = await api.openDispute(seller, rift.riftId, 'buyer went silent');
    expect(d.status, d.text).toBe(201);
    for (const index of [1, 2]) await refused(rift.riftId, () => api.release(buyer, rift.riftId, index), 409, 'rift_disputed');
    // the released one stays released (the freeze wins over "already released" too)
    await refused(rift.riftId, () => api.release(buyer, rift.riftId, 0), 409, 'rift_disputed');
    const during = await api.assertLedger(rift.riftId);
    expect(during.milestones[0]).toMatchObject({ status: 'released', transferId });
    expect(during.amounts).toMatchObject({ released: 1_000, held: 5_000 });
    expect((await transfersOf(rift.riftId)).map((t) => t.id)).toEqual([transferId]);

    // dismissing unfreezes
    expect((await api.resolve(admin, rift.riftId, 'dismiss')).status).toBe(200);
    expect((await api.release(buyer, rift.riftId, 1)).status).toBe(200);
    await api.assertLedger(rift.riftId);
  });

  describe('6 concurrent release attempts', () => {
    it('50 concurrent attempts on one milestone: exactly one 200 and one transfer; the rest 409', async () => {
      const { buyer, seller, admin } = party();
      const rift = await api.fundedRift(buyer, seller);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => api.release(i % 5 === 0 ? admin : buyer, rift.riftId, 0)));
      const ok = results.filter((r) => r.status === 200);
      expect(ok.length).toBe(1);
      for (const r of results.filter((x) => x.status !== 200)) {
        expect(r.status, r.text).toBe(409);
        expect(['milestone_already_released', 'release_in_progress']).toContain(r.body.error.code);
        expect(r.requestId).toBe(r.body.error.requestId);
      }
      const transfers = await transfersOf(rift.riftId);
      expect(transfers.length).toBe(1);
      expect(transfers[0]!.id).toBe(ok[0]!.body.release.transferId);
      const after = await api.assertLedger(rift.riftId);
      expect(after.amounts).toMatchObject({ released: 10_000, held: 20_000 });
      const events = await api.events(rift.riftId);
      expect(types(events).filter((t) => t.startsWith('release.'))).toEqual(['release.started', 'release.completed']);
    });

    it('50 concurrent attempts sharing an Idempotency-Key: one run; the others replay it or get idempotency_key_in_use', async () => {
      const { buyer, seller } = party();
      const rift = await api.fundedRift(buyer, seller);
      const key = uid('release-key');
      const results = await Promise.all(Array.from({ length: 50 }, () => api.release(buyer, rift.riftId, 1, { idempotencyKey: key })));
      const ok = results.filter((r) => r.status === 200);
      const original = ok.filter((r) => r.headers.get('idempotent-replayed') !== 'true');
      expect(original.length).toBe(1);
      for (const r of ok) {
        expect(r.text).toBe(original[0]!.text);
        expect(r.requestId).toBe(original[0]!.requestId);
      }
      for (const r of results.filter((x) => x.status !== 200)) {
        expect(r.status, r.text).toBe(409);
        expect(r.body.error.code).toBe('idempotency_key_in_use');
      }
      // afterwards the key replays the answer
      const again = await api.release(buyer, rift.riftId, 1, { idempotencyKey: key });
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.text).toBe(original[0]!.text);
      expect(again.requestId).toBe(original[0]!.requestId);
      expect((await transfersOf(rift.riftId)).length).toBe(1);
      await api.assertLedger(rift.riftId);
    });
  });

  it('7 platform balance insufficient: 409 with details, nothing recorded, works once the balance is back', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const { balances } = await api.emulatorState();
    const saved = balances.usd!.available;
    await api.setBalance('usd', 9_999);
    try {
      const err = await refused(rift.riftId, () => api.release(buyer, rift.riftId, 0), 409, 'insufficient_platform_balance');
      expect(err.details).toEqual({ currency: 'usd', available: 9_999, required: 10_000 });
      const after = await api.assertLedger(rift.riftId);
      expect(after.milestones[0]!.status).toBe('pending');
      expect(await transfersOf(rift.riftId)).toEqual([]);
    } finally {
      await api.setBalance('usd', saved);
    }
    const ok = await api.release(buyer, rift.riftId, 0);
    expect(ok.status, ok.text).toBe(200);
    await api.assertLedger(rift.riftId);
  });

  it('8 duplicate milestone release: a second release is milestone_already_released', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    const first = await api.release(buyer, rift.riftId, 0);
    expect(first.status).toBe(200);
    for (const who of [buyer, admin]) await refused(rift.riftId, () => api.release(who, rift.riftId, 0), 409, 'milestone_already_released');
    expect((await transfersOf(rift.riftId)).length).toBe(1);
    await api.assertLedger(rift.riftId);
  });

  it('8b the conditional write alone refuses a second release item for riftId#milestoneIndex', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const first = await api.release(buyer, rift.riftId, 0);
    expect(first.status).toBe(200);

    const config = loadConfig();
    const doc = dynamoClient(config);
    const store = createRiftStore(doc, config.tableName);
    const key = { pk: `RIFT#${rift.riftId}`, sk: 'RIFT' };
    const setStatus = (status: string) =>
      doc.send(new UpdateCommand({ TableName: config.tableName, Key: key, UpdateExpression: 'SET milestones[0].#s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': status } }));
    // Make the rift's own conditions pass (the milestone reads pending): only the release item is left to refuse.
    await setStatus('pending');
    try {
      const intent: MoneyIntent = {
        kind: 'release', id: 'rel_duplicate', riftId: rift.riftId, amount: 10_000, currency: 'usd', milestoneIndex: 0,
        destination: 'acct_seller1', status: 'pending', attempt: 1, stripeKey: `release:${rift.riftId}:0`,
        leaseUntil: Date.now() + 30_000, actor: buyer.sub, createdAt: new Date().toISOString(),
      };
      const before = await store.getRift(rift.riftId);
      const out = await store.reserve(intent, { eventId: 'evt_duplicate', type: 'release.started', at: new Date().toISOString(), actor: buyer.sub, amount: 10_000 }, { checkDispute: true });
      expect(out.ok).toBe(false);
      if (out.ok) return;
      expect(out.existing).toMatchObject({ id: first.body.release.releaseId, status: 'completed', stripeId: first.body.release.transferId });
      expect(out.rift).toBeUndefined(); // the rift's conditions held: the release item refused it
      expect(await store.getRift(rift.riftId)).toEqual(before); // nothing claimed
      expect((await store.listEvents(rift.riftId)).some((e) => e.eventId === 'evt_duplicate')).toBe(false);
    } finally {
      await setStatus('released');
    }
    await api.assertLedger(rift.riftId);
  });

  it('9 refund after a full release is rejected (nothing_to_refund)', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    for (const index of [0, 1]) expect((await api.release(buyer, rift.riftId, index)).status).toBe(200);
    const done = await api.assertLedger(rift.riftId);
    expect(done.status).toBe('completed');
    await refused(rift.riftId, () => api.refund(seller, rift.riftId), 409, 'nothing_to_refund');
    await refused(rift.riftId, () => api.refund(admin, rift.riftId, { amount: 1 }), 409, 'nothing_to_refund');
    expect((await api.emulatorState()).refunds.filter((r) => r.payment_intent === rift.paymentIntentId)).toEqual([]);
    await api.assertLedger(rift.riftId);
  });

  it('load: 20 rifts x 3 milestones released all at once; released totals exact', async () => {
    const { buyer, seller } = party();
    const ms = [1_100, 2_200, 3_300].map((amount, i) => ({ title: `m${i}`, amount }));
    const rifts: Rift[] = [];
    for (let i = 0; i < 20; i += 5) rifts.push(...(await Promise.all(Array.from({ length: 5 }, () => api.fundedRift(buyer, seller, ms)))));
    const results = await Promise.all(rifts.flatMap((r) => [0, 1, 2].map((index) => api.release(buyer, r.riftId, index))));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    const state = await api.emulatorState();
    const ids = new Set(rifts.map((r) => r.riftId));
    const transfers = state.transfers.filter((t) => ids.has(t.transfer_group ?? ''));
    expect(transfers.length).toBe(60);
    expect(transfers.reduce((s, t) => s + t.amount, 0)).toBe(20 * 6_600);
    for (const r of rifts) {
      const after = await api.assertLedger(r.riftId);
      expect(after.status).toBe('completed');
      expect(after.amounts).toEqual({ total: 6_600, funded: 6_600, released: 6_600, refunded: 0, held: 0 });
    }
  });
});

describe('funding', () => {
  it('pm_card_visa funds the rift with a PaymentIntent for the total; the webhook too does not fund twice', async () => {
    const { buyer, seller } = party();
    const rift = await api.createRift(buyer, seller);
    expect(rift).toMatchObject({ status: 'awaiting_funding', paymentIntentId: null, amounts: { total: 30_000, funded: 0, held: 0 } });
    const res = await api.fund(buyer, rift.riftId);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ status: 'funded', amounts: { total: 30_000, funded: 30_000, released: 0, refunded: 0, held: 30_000 } });
    expect(res.body.paymentIntentId).toMatch(/^pi_/);
    const state = await api.emulatorState();
    const pi = state.paymentIntents.find((p) => p.id === res.body.paymentIntentId)!;
    expect(pi).toMatchObject({ amount: 30_000, status: 'succeeded', transfer_group: rift.riftId, metadata: { riftId: rift.riftId } });

    // the webhook arrives (and once more, as Stripe may resend): still exactly one rift.funded
    const eventId = await api.waitForWebhook('payment_intent.succeeded', pi.id);
    await api.resendWebhook(eventId);
    await api.waitForWebhook('payment_intent.succeeded', pi.id);
    const events = await api.events(rift.riftId);
    expect(types(events)).toEqual(['rift.created', 'rift.funded']);
    expect(events[1]).toMatchObject({ amount: 30_000, stripeId: pi.id, actor: buyer.sub });
    await api.assertLedger(rift.riftId);
  });

  it('a declined card is 402 card_declined and changes nothing; pm_card_visa afterwards works', async () => {
    const { buyer, seller } = party();
    const rift = await api.createRift(buyer, seller);
    await refused(rift.riftId, () => api.fund(buyer, rift.riftId, 'pm_card_chargeDeclined'), 402, 'card_declined');
    const ok = await api.fund(buyer, rift.riftId, 'pm_card_visa');
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.status).toBe('funded');
    expect(types(await api.events(rift.riftId))).toEqual(['rift.created', 'rift.funded']);
    await api.assertLedger(rift.riftId);
  });

  it('funding a funded rift is 409 rift_already_funded, and charges nothing', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const count = (await api.emulatorState()).paymentIntents.length;
    await refused(rift.riftId, () => api.fund(buyer, rift.riftId), 409, 'rift_already_funded');
    expect((await api.emulatorState()).paymentIntents.length).toBe(count);
    await api.assertLedger(rift.riftId);
  });

  it('only the buyer funds: seller and admin 403, a stranger 404', async () => {
    const { buyer, seller, admin, stranger } = party();
    const rift = await api.createRift(buyer, seller);
    await refused(rift.riftId, () => api.fund(seller, rift.riftId), 403, 'forbidden');
    await refused(rift.riftId, () => api.fund(admin, rift.riftId), 403, 'forbidden');
    await refused(rift.riftId, () => api.fund(stranger, rift.riftId), 404, 'rift_not_found');
    await api.assertLedger(rift.riftId);
  });

  it('before funding: release, refund and dispute are rift_not_funded', async () => {
    const { buyer, seller } = party();
    const rift = await api.createRift(buyer, seller);
    await refused(rift.riftId, () => api.release(buyer, rift.riftId, 0), 409, 'rift_not_funded');
    await refused(rift.riftId, () => api.refund(seller, rift.riftId), 409, 'rift_not_funded');
    await refused(rift.riftId, () => api.openDispute(buyer, rift.riftId), 409, 'rift_not_funded');
    await api.assertLedger(rift.riftId);
  });
});

describe('disputes', () => {
  it.each(['buyer', 'seller'] as const)('the %s opens one; a second is dispute_already_open', async (who) => {
    const p = party();
    const rift = await api.fundedRift(p.buyer, p.seller);
    const res = await api.openDispute(p[who], rift.riftId, 'not delivered');
    expect(res.status, res.text).toBe(201);
    expect(res.body.dispute).toMatchObject({ status: 'open', reason: 'not delivered', openedBy: p[who].sub, source: 'party' });
    expect(res.body.dispute.disputeId).toMatch(/^dsp_/);
    expect(res.body.rift.dispute).toEqual(res.body.dispute);
    expect(res.body.rift.status).toBe('disputed');
    const ev = (await api.events(rift.riftId)).at(-1)!;
    expect(ev).toMatchObject({ type: 'dispute.opened', actor: p[who].sub });
    for (const other of [p.buyer, p.seller]) await refused(rift.riftId, () => api.openDispute(other, rift.riftId), 409, 'dispute_already_open');
    await api.assertLedger(rift.riftId);
  });

  it('an admin cannot open one (403), nor can a stranger see the rift (404)', async () => {
    const { buyer, seller, admin, stranger } = party();
    const rift = await api.fundedRift(buyer, seller);
    await refused(rift.riftId, () => api.openDispute(admin, rift.riftId), 403, 'forbidden');
    await refused(rift.riftId, () => api.openDispute(stranger, rift.riftId), 404, 'rift_not_found');
  });

  it('no money held: opening is rift_closed', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    expect((await api.refund(seller, rift.riftId)).status).toBe(201);
    await refused(rift.riftId, () => api.openDispute(buyer, rift.riftId), 409, 'rift_closed');
    await api.assertLedger(rift.riftId);
  });

  it('resolve: only an admin; with none open no_open_dispute', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    await refused(rift.riftId, () => api.resolve(admin, rift.riftId, 'dismiss'), 409, 'no_open_dispute');
    expect((await api.openDispute(buyer, rift.riftId)).status).toBe(201);
    await refused(rift.riftId, () => api.resolve(buyer, rift.riftId, 'release_seller'), 403, 'forbidden');
    await refused(rift.riftId, () => api.resolve(seller, rift.riftId, 'dismiss'), 403, 'forbidden');
    expect((await api.resolve(admin, rift.riftId, 'dismiss')).status).toBe(200);
    await refused(rift.riftId, () => api.resolve(admin, rift.riftId, 'dismiss'), 409, 'no_open_dispute');
  });

  it('dismiss unfreezes and moves no money', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    const opened = await api.openDispute(buyer, rift.riftId);
    const res = await api.resolve(admin, rift.riftId, 'dismiss');
    expect(res.status, res.text).toBe(200);
    expect(res.body.dispute).toMatchObject({ disputeId: opened.body.dispute.disputeId, status: 'resolved', outcome: 'dismiss' });
    expect(Date.parse(res.body.dispute.resolvedAt)).not.toBeNaN();
    expect(res.body.rift).toMatchObject({ status: 'funded', amounts: { held: 30_000, released: 0, refunded: 0 } });
    const events = await api.events(rift.riftId);
    expect(types(events).slice(-2)).toEqual(['dispute.opened', 'dispute.resolved']);
    expect(events.at(-1)).toMatchObject({ actor: admin.sub });
    expect((await api.release(buyer, rift.riftId, 0)).status).toBe(200);
    await api.assertLedger(rift.riftId);
  });

  it('refund_buyer refunds everything held, and leaves released money alone', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    expect((await api.release(buyer, rift.riftId, 0)).status).toBe(200);
    expect((await api.openDispute(seller, rift.riftId)).status).toBe(201);
    const res = await api.resolve(admin, rift.riftId, 'refund_buyer');
    expect(res.status, res.text).toBe(200);
    expect(res.body.dispute).toMatchObject({ status: 'resolved', outcome: 'refund_buyer' });
    expect(res.body.rift).toMatchObject({ status: 'closed', amounts: { released: 10_000, refunded: 20_000, held: 0 } });
    const events = await api.events(rift.riftId);
    expect(types(events).slice(-3)).toEqual(['refund.started', 'refund.completed', 'dispute.resolved']);
    expect(events.at(-2)).toMatchObject({ amount: 20_000, actor: admin.sub });
    await api.assertLedger(rift.riftId);
  });

  it('release_seller releases every pending milestone', async () => {
    const { buyer, seller, admin } = party();
    const ms = [1_000, 2_000, 3_000].map((amount, i) => ({ title: `m${i}`, amount }));
    const rift = await api.fundedRift(buyer, seller, ms);
    expect((await api.release(buyer, rift.riftId, 1)).status).toBe(200);
    expect((await api.openDispute(buyer, rift.riftId)).status).toBe(201);
    const res = await api.resolve(admin, rift.riftId, 'release_seller');
    expect(res.status, res.text).toBe(200);
    expect(res.body.dispute).toMatchObject({ status: 'resolved', outcome: 'release_seller' });
    expect(res.body.rift).toMatchObject({ status: 'completed', amounts: { released: 6_000, refunded: 0, held: 0 } });
    expect(res.body.rift.milestones.map((m: { status: string }) => m.status)).toEqual(['released', 'released', 'released']);
    const events = (await api.events(rift.riftId)).filter((e) => e.type === 'release.completed');
    expect(events.map((e) => [e.milestoneIndex, e.amount]).sort()).toEqual([[0, 1_000], [1, 2_000], [2, 3_000]]);
    expect((await transfersOf(rift.riftId)).length).toBe(3);
    await api.assertLedger(rift.riftId);
  });

  it('an admin may refund during a dispute; the dispute stays open even with nothing held', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    expect((await api.openDispute(buyer, rift.riftId)).status).toBe(201);
    const res = await api.refund(admin, rift.riftId);
    expect(res.status, res.text).toBe(201);
    expect(res.body.rift.amounts).toMatchObject({ refunded: 30_000, held: 0 });
    expect(res.body.rift.dispute.status).toBe('open');
    expect(res.body.rift.status).toBe('disputed');
    const resolved = await api.resolve(admin, rift.riftId, 'refund_buyer');
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.body.rift.status).toBe('refunded');
    await api.assertLedger(rift.riftId);
  });

  it('a chargeback opens a chargeback dispute, openedBy stripe', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const dp = await api.chargeback(rift.paymentIntentId!);
    const events = await api.waitForEvents(rift.riftId, (es) => es.some((e) => e.type === 'dispute.opened'));
    expect(events.find((e) => e.type === 'dispute.opened')).toMatchObject({ actor: 'stripe', stripeId: dp.id });
    const after = await api.rift(rift.riftId);
    expect(after.status).toBe('disputed');
    expect(after.dispute).toMatchObject({ status: 'open', source: 'chargeback', openedBy: 'stripe' });
    await refused(rift.riftId, () => api.release(buyer, rift.riftId, 0), 409, 'rift_disputed');
    await api.assertLedger(rift.riftId);
  });

  it('after a chargeback Stripe refuses refunds: an admin refund answers 409 rift_disputed, voided, nothing lost', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    await api.chargeback(rift.paymentIntentId!);
    await api.waitForEvents(rift.riftId, (es) => es.some((e) => e.type === 'dispute.opened'));
    const res = await api.refund(admin, rift.riftId);
    expectError(res, 409, 'rift_disputed');
    expect(res.body.error.details).toMatchObject({ providerCode: 'charge_disputed' });
    const after = await api.rift(rift.riftId);
    expect(after.amounts).toMatchObject({ refunded: 0, held: 30_000 });
    const types = (await api.events(rift.riftId)).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['refund.started', 'refund.failed']);
    await api.assertLedger(rift.riftId);
  });

  it('a chargeback while a dispute is open is recorded and opens no second dispute', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const opened = await api.openDispute(buyer, rift.riftId);
    expect(opened.status).toBe(201);
    const dp = await api.chargeback(rift.paymentIntentId!);
    const events = await api.waitForEvents(rift.riftId, (es) => es.some((e) => e.actor === 'stripe'));
    const byStripe = events.filter((e) => e.actor === 'stripe');
    expect(byStripe.length).toBe(1);
    expect(byStripe[0]).toMatchObject({ stripeId: dp.id });
    const after = await api.rift(rift.riftId);
    expect(after.dispute).toEqual(opened.body.dispute);
    expect(after.dispute!.source).toBe('party');
    await api.assertLedger(rift.riftId);
  });
});

describe('audit events', () => {
  it('a whole deal writes the contract types, oldest first, with amounts on money events', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    const rel = await api.release(buyer, rift.riftId, 0);
    const ref = await api.refund(seller, rift.riftId, { amount: 5_000 });
    await api.openDispute(buyer, rift.riftId);
    await api.resolve(admin, rift.riftId, 'dismiss');
    const events = await api.events(rift.riftId);
    expect(events.map((e) => [e.type, e.actor, e.amount ?? null])).toEqual([
      ['rift.created', buyer.sub, 30_000],
      ['rift.funded', buyer.sub, 30_000],
      ['release.started', buyer.sub, 10_000],
      ['release.completed', buyer.sub, 10_000],
      ['refund.started', seller.sub, 5_000],
      ['refund.completed', seller.sub, 5_000],
      ['dispute.opened', buyer.sub, null],
      ['dispute.resolved', admin.sub, null],
    ]);
    expect(events[3]).toMatchObject({ milestoneIndex: 0, stripeId: rel.body.release.transferId });
    expect(events[5]).toMatchObject({ stripeId: ref.body.refund.stripeRefundId });
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    for (const e of events) expect(e.eventId).toMatch(/^evt_/);
    const at = events.map((e) => e.at);
    expect([...at].sort()).toEqual(at);
    await api.assertLedger(rift.riftId);
  });

  it('events are visible to buyer, seller and admin only', async () => {
    const { buyer, seller, admin, stranger } = party();
    const rift = await api.createRift(buyer, seller);
    for (const who of [buyer, seller, admin]) expect((await api.get(who, `/api/rifts/${rift.riftId}/events`)).status).toBe(200);
    expectError(await api.get(stranger, `/api/rifts/${rift.riftId}/events`), 404, 'rift_not_found');
  });
});

describe('listing and reading rifts', () => {
  it('buyer and seller list their rifts newest first; strangers see none of them', async () => {
    const { buyer, seller, stranger } = party();
    const other = party();
    const created: Rift[] = [];
    for (let i = 0; i < 3; i++) created.push(await api.createRift(buyer, seller));
    await api.createRift(other.buyer, other.seller);
    const newestFirst = created.map((r) => r.riftId).reverse();
    for (const who of [buyer, seller]) {
      const res = await api.get(who, '/api/rifts');
      expect(res.status).toBe(200);
      expect(res.body.rifts.map((r: Rift) => r.riftId)).toEqual(newestFirst);
      expect(res.body.rifts[0]).toEqual(await api.rift(newestFirst[0]!));
    }
    const none = await api.get(stranger, '/api/rifts');
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ rifts: [] });
    for (const r of created) expectError(await api.get(stranger, `/api/rifts/${r.riftId}`), 404, 'rift_not_found');
  });

  it('buyer, seller and admin read a rift; an unknown id is 404 for all', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.createRift(buyer, seller);
    for (const who of [buyer, seller, admin]) {
      const res = await api.get(who, `/api/rifts/${rift.riftId}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(rift);
    }
    for (const who of [buyer, admin]) expectError(await api.get(who, '/api/rifts/rift_doesnotexist0'), 404, 'rift_not_found');
  });

  it('no token is 401 unauthorized', async () => {
    expectError(await api.get(null, '/api/rifts'), 401, 'unauthorized');
    expectError(await api.post(null, '/api/rifts', {}), 401, 'unauthorized');
  });
});

describe('Idempotency-Key', () => {
  const body = (seller: string) => ({ title: 'Logo', sellerId: seller, sellerAccountId: 'acct_x1', currency: 'eur', milestones: [{ title: 'All', amount: 4_200 }] });

  it('POST /api/rifts: a replay is the first answer exactly; another body is 422; one rift made', async () => {
    const { buyer, seller } = party();
    const key = uid('k');
    const first = await api.post(buyer, '/api/rifts', body(seller.sub), { idempotencyKey: key });
    expect(first.status, first.text).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const replay = await api.post(buyer, '/api/rifts', body(seller.sub), { idempotencyKey: key });
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.requestId).toBe(first.requestId);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    // the same JSON spelled differently is the same body
    const spaced = await api.request('POST', '/api/rifts', { as: buyer, raw: JSON.stringify(body(seller.sub), null, 2), idempotencyKey: key });
    expect(spaced.status).toBe(201);
    expect(spaced.text).toBe(first.text);

    const reused = await api.post(buyer, '/api/rifts', { ...body(seller.sub), title: 'Other' }, { idempotencyKey: key });
    expectError(reused, 422, 'idempotency_key_reused');
    const list = await api.get(buyer, '/api/rifts');
    expect(list.body.rifts.map((r: Rift) => r.riftId)).toEqual([first.body.riftId]);
    // keys are per caller: another buyer with the same key creates their own rift
    const other = party();
    const theirs = await api.post(other.buyer, '/api/rifts', body(seller.sub), { idempotencyKey: key });
    expect(theirs.status).toBe(201);
    expect(theirs.body.riftId).not.toBe(first.body.riftId);
  });

  it('refunds: the key is required; empty or 256 characters is validation_error; 255 is fine', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    await refused(rift.riftId, () => api.refund(seller, rift.riftId, { amount: 100 }, null), 400, 'idempotency_key_required');
    await refused(rift.riftId, () => api.refund(seller, rift.riftId, { amount: 100 }, ''), 400, 'validation_error');
    await refused(rift.riftId, () => api.refund(seller, rift.riftId, { amount: 100 }, 'k'.repeat(256)), 400, 'validation_error');
    const ok = await api.refund(seller, rift.riftId, { amount: 100 }, 'k'.repeat(255));
    expect(ok.status, ok.text).toBe(201);
    await api.assertLedger(rift.riftId);
  });

  it('refunds: a replay moves no money again, another body is 422, another key is a second refund', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const key = uid('refund');
    const first = await api.refund(seller, rift.riftId, { amount: 1_000 }, key);
    expect(first.status, first.text).toBe(201);
    const replay = await api.refund(seller, rift.riftId, { amount: 1_000 }, key);
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.requestId).toBe(first.requestId);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await refused(rift.riftId, () => api.refund(seller, rift.riftId, { amount: 2_000 }, key), 422, 'idempotency_key_reused');
    expect((await api.assertLedger(rift.riftId)).amounts.refunded).toBe(1_000);

    const second = await api.refund(seller, rift.riftId, { amount: 1_000 }, uid('refund'));
    expect(second.status).toBe(201);
    expect(second.body.refund.refundId).not.toBe(first.body.refund.refundId);
    expect((await api.assertLedger(rift.riftId)).amounts.refunded).toBe(2_000);
  });

  it('the same key on two different rifts is two keys', async () => {
    const { buyer, seller } = party();
    const a = await api.fundedRift(buyer, seller);
    const b = await api.fundedRift(buyer, seller);
    const key = uid('shared');
    const ra = await api.refund(seller, a.riftId, { amount: 700 }, key);
    const rb = await api.refund(seller, b.riftId, { amount: 700 }, key);
    expect([ra.status, rb.status]).toEqual([201, 201]);
    expect(rb.headers.get('idempotent-replayed')).toBeNull();
    expect(ra.body.refund.riftId).toBe(a.riftId);
    expect(rb.body.refund.riftId).toBe(b.riftId);
    expect(ra.body.refund.refundId).not.toBe(rb.body.refund.refundId);
    for (const r of [a, b]) expect((await api.assertLedger(r.riftId)).amounts.refunded).toBe(700);
  });

  it('a 409 answer is saved and replayed too (answers below 500)', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const key = uid('fund');
    const first = await api.post(buyer, `/api/rifts/${rift.riftId}/fund`, { paymentMethodId: 'pm_card_visa' }, { idempotencyKey: key });
    expectError(first, 409, 'rift_already_funded');
    const replay = await api.post(buyer, `/api/rifts/${rift.riftId}/fund`, { paymentMethodId: 'pm_card_visa' }, { idempotencyKey: key });
    expect(replay.status).toBe(409);
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('faults at Stripe', () => {
  it('a fund whose answer was lost (502) and that the webhook recorded first: the same key retried is the success; a new key is 409', async () => {
    const { buyer, seller } = party();
    const rift = await api.createRift(buyer, seller);
    await api.fault({ method: 'POST', path: '/v1/payment_intents', fault: 'commit_then_error_500', times: 5 });
    let failed: ApiResponse;
    try {
      failed = await api.post(buyer, `/api/rifts/${rift.riftId}/fund`, { paymentMethodId: 'pm_card_visa' }, { idempotencyKey: 'fund-once' });
    } finally {
      await api.clearFaults();
    }
    expectError(failed, 502, 'payment_provider_error');
    // The payment happened: Stripe's payment_intent.succeeded funds the rift (actor stripe).
    const events = await api.waitForEvents(rift.riftId, (es) => es.some((e) => e.type === 'rift.funded'));
    expect(events.find((e) => e.type === 'rift.funded')!.actor).toBe('stripe');

    const retry = await api.post(buyer, `/api/rifts/${rift.riftId}/fund`, { paymentMethodId: 'pm_card_visa' }, { idempotencyKey: 'fund-once' });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.body).toMatchObject({ status: 'funded', amounts: { funded: 30_000, held: 30_000 } });
    expect(retry.body.paymentIntentId).toBe(events.find((e) => e.type === 'rift.funded')!.stripeId);

    const other = await api.post(buyer, `/api/rifts/${rift.riftId}/fund`, { paymentMethodId: 'pm_card_visa' }, { idempotencyKey: 'fund-again' });
    expectError(other, 409, 'rift_already_funded');
    expect((await api.events(rift.riftId)).filter((e) => e.type === 'rift.funded')).toHaveLength(1);
    await api.assertLedger(rift.riftId);
  });

  it('a release whose answer was lost (502) stays releasing; the next request completes it with no second transfer', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.fundedRift(buyer, seller);
    await api.fault({ method: 'POST', path: '/v1/transfers', fault: 'commit_then_error_500', times: 5 });
    let failed: ApiResponse;
    try {
      failed = await api.release(buyer, rift.riftId, 0);
    } finally {
      await api.clearFaults();
    }
    expectError(failed, 502, 'payment_provider_error');
    const mid = await api.rift(rift.riftId);
    expect(mid.milestones[0]!.status).toBe('releasing');
    expect(mid.amounts).toMatchObject({ released: 0, held: 30_000 });
    expect(types(await api.events(rift.riftId)).filter((t) => t.startsWith('release.'))).toEqual(['release.started']);
    expect((await transfersOf(rift.riftId)).length).toBe(1); // the money moved; the answer was lost

    // not in flight any more: another caller with the right finishes it with the same Stripe key
    const retry = await api.release(admin, rift.riftId, 0);
    expect(retry.status, retry.text).toBe(200);
    const transfers = await transfersOf(rift.riftId);
    expect(transfers.map((t) => t.id)).toEqual([retry.body.release.transferId]);
    expect(types(await api.events(rift.riftId)).filter((t) => t.startsWith('release.'))).toEqual(['release.started', 'release.completed']);
    await refused(rift.riftId, () => api.release(buyer, rift.riftId, 0), 409, 'milestone_already_released');
    await api.assertLedger(rift.riftId);
  });

  it('a refund that got a 502 is not saved under its key: the same request finishes it, one Stripe refund', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const key = uid('refund');
    await api.fault({ method: 'POST', path: '/v1/refunds', fault: 'error_500', times: 5 });
    let failed: ApiResponse;
    try {
      failed = await api.refund(seller, rift.riftId, { amount: 3_000 }, key);
    } finally {
      await api.clearFaults();
    }
    expectError(failed, 502, 'payment_provider_error');
    expect(types(await api.events(rift.riftId)).filter((t) => t.startsWith('refund.'))).toEqual(['refund.started']);
    // the money is claimed meanwhile: a full refund cannot take it twice
    const mid = await api.rift(rift.riftId);
    expect(mid.amounts).toMatchObject({ refunded: 0, held: 30_000 });

    const retry = await api.refund(seller, rift.riftId, { amount: 3_000 }, key);
    expect(retry.status, retry.text).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.body.rift.amounts).toMatchObject({ refunded: 3_000, held: 27_000 });
    const replay = await api.refund(seller, rift.riftId, { amount: 3_000 }, key);
    expect(replay.text).toBe(retry.text);
    expect((await api.emulatorState()).refunds.filter((r) => r.payment_intent === rift.paymentIntentId).length).toBe(1);
    await api.assertLedger(rift.riftId);
  });

  it('Stripe refuses the transfer (balance gone after the check): voided, 409, milestone pending; a later release works', async () => {
    const { buyer, seller } = party();
    const rift = await api.fundedRift(buyer, seller);
    const saved = (await api.emulatorState()).balances.usd!.available;
    await api.fault({ method: 'POST', path: '/v1/transfers', fault: 'delay', delayMs: 1_500, times: 1 });
    const pending = api.release(buyer, rift.riftId, 0);
    // once the transfer is being held (the fault consumed), the balance check is behind us: drain the balance
    for (let i = 0; i < 200 && (await api.faults()).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    await api.setBalance('usd', 10);
    const res = await pending;
    await api.setBalance('usd', saved);
    await api.clearFaults();
    const err = expectError(res, 409, 'insufficient_platform_balance');
    expect(err.details).toMatchObject({ currency: 'usd', required: 10_000 });
    expect(err.details.available).toBe(10); // the contract's details on every path to this error (fixed: it was missing here)
    const after = await api.assertLedger(rift.riftId);
    expect(after.milestones[0]!.status).toBe('pending');
    const events = await api.events(rift.riftId);
    expect(types(events).filter((t) => t.startsWith('release.'))).toEqual(['release.started', 'release.failed']);
    expect(events.at(-1)).toMatchObject({ amount: 10_000, milestoneIndex: 0 });

    const ok = await api.release(buyer, rift.riftId, 0);
    expect(ok.status, ok.text).toBe(200);
    expect((await transfersOf(rift.riftId)).length).toBe(1);
    await api.assertLedger(rift.riftId);
  });

  it('releases, refunds and a dispute racing on one rift keep the invariant', async () => {
    const { buyer, seller } = party();
    const ms = [5_000, 5_000, 10_000, 10_000].map((amount, i) => ({ title: `m${i}`, amount }));
    const rift = await api.fundedRift(buyer, seller, ms);
    const calls = [
      ...[0, 1, 2, 3].flatMap((i) => [api.release(buyer, rift.riftId, i), api.release(buyer, rift.riftId, i)]),
      ...Array.from({ length: 6 }, () => api.refund(seller, rift.riftId, { amount: 5_000 })),
      api.openDispute(seller, rift.riftId),
    ];
    const results = await Promise.all(calls);
    for (const r of results) {
      expect([200, 201, 409], r.text).toContain(r.status);
      if (r.status === 409) expect(r.requestId).toBe(r.body.error.requestId);
    }
    const after = await api.assertLedger(rift.riftId);
    const okReleases = results.slice(0, 8).filter((r) => r.status === 200).map((r) => r.body.release.milestoneIndex);
    expect(new Set(okReleases).size).toBe(okReleases.length); // at most one per milestone
    const okRefunds = results.slice(8, 14).filter((r) => r.status === 201).length;
    expect(after.amounts.refunded).toBe(okRefunds * 5_000);
    expect(after.amounts.released).toBe(okReleases.reduce((s, i) => s + ms[i]!.amount, 0));
    const events = await api.events(rift.riftId);
    expect(types(events).filter((t) => t === 'release.completed').length).toBe(okReleases.length);
    expect(types(events).filter((t) => t === 'refund.completed').length).toBe(okRefunds);
    expect(types(events).filter((t) => t.endsWith('.failed'))).toEqual([]);
  });
});

describe('answers carry the stored rift', () => {
  it('fund, release, refund, dispute and resolve answer the rift exactly as a GET reads it afterwards', async () => {
    const { buyer, seller, admin } = party();
    const rift = await api.createRift(buyer, seller);
    expect(await api.rift(rift.riftId)).toEqual(rift);
    const steps: [string, () => Promise<ApiResponse>, (b: any) => Rift][] = [
      ['fund', () => api.fund(buyer, rift.riftId), (b) => b],
      ['release', () => api.release(buyer, rift.riftId, 0), (b) => b.rift],
      ['refund', () => api.refund(seller, rift.riftId, { amount: 1_000 }), (b) => b.rift],
      ['dispute', () => api.openDispute(buyer, rift.riftId), (b) => b.rift],
      ['resolve', () => api.resolve(admin, rift.riftId, 'dismiss'), (b) => b.rift],
    ];
    for (const [name, call, pick] of steps) {
      const res = await call();
      expect(res.status, `${name}: ${res.text}`).toBeLessThan(300);
      expect(pick(res.body), name).toEqual(await api.rift(rift.riftId));
    }
    await api.assertLedger(rift.riftId);
  });
});
