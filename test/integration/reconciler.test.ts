/**
 * The reconciler against the in-process local stack (real handlers, DynamoDB Local, the Stripe
 * emulator): it finishes or voids what a 502 or a crash left pending, exactly once, finding its
 * work through the sparse `pending` index.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditProblems, ledgerProblems, sleep, snapshotRift, startTestStack, type StripeState, type TestStack } from '../support/faults-helpers';
import { disarmAll } from '../../functions/adapters/faults';
import { escrowDeps } from '../../functions/api/deps';
import { reconcilePending } from '../../functions/core/reconcile';
import type { PaymentGateway } from '../../functions/core/payment-port';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t?.stop();
});
beforeEach(async () => {
  disarmAll();
  await t.clearFaults();
  await t.emulator('POST', '/_emulator/balance', { currency: 'usd', available: 10_000_000 });
});

async function fundedRift(amounts = [10000, 20000]) {
  const r = await t.createRift(amounts);
  const f = await t.fund(r.riftId);
  expect(f.status).toBe(200);
  return r.riftId;
}

const release = (riftId: string, index: number, key?: string) => t.call('POST', `/api/rifts/${riftId}/milestones/${index}/release`, { body: {}, ...(key ? { key } : {}) });

/** A release answered 502 and left pending (milestone `releasing`, no lease). */
async function pendingRelease(riftId: string, index: number, fault: 'error_500' | 'commit_then_error_500' | 'timeout' = 'error_500') {
  if (fault === 'timeout') await t.fault('POST', '/v1/transfers', 'timeout', 3, 2500);
  else await t.fault('POST', '/v1/transfers', fault, 2);
  const r = await release(riftId, index);
  await t.clearFaults();
  expect(r.status).toBe(502);
  expect(r.body.error.code).toBe('payment_provider_error');
  const rift = (await t.store.getRift(riftId))!;
  expect(rift.milestones[index]!.status).toBe('releasing');
  const [intent] = (await t.intents(riftId)).filter((i) => i.kind === 'release' && i.milestoneIndex === index);
  expect(intent).toMatchObject({ status: 'pending', leaseUntil: 0 });
  return intent!;
}

const pendingIds = async () => (await t.store.listPendingIntents('\uffff', 1000)).map((i) => i.id);

async function expectConsistent(riftId: string) {
  const s = await snapshotRift(t, riftId);
  expect(ledgerProblems(s.rift, s.intents, s.stripe)).toEqual([]);
  expect(auditProblems(s.events, s.intents, s.rift)).toEqual([]);
  return s;
}
const transfersOf = (s: { stripe: StripeState } | StripeState, riftId: string) => ('stripe' in s ? s.stripe : s).transfers.filter((x) => x.transfer_group === riftId);

describe('reconciler', () => {
  it('completes a release left pending by a 502 (error_500 past the SDK retry), with one transfer, and drops it from the pending index', async () => {
    const riftId = await fundedRift();
    const intent = await pendingRelease(riftId, 0);
    expect(await pendingIds()).toContain(intent.id);
    const out = await t.reconcile();
    expect(out.items).toContainEqual({ kind: 'release', id: intent.id, riftId, outcome: 'completed' });
    expect(await pendingIds()).not.toContain(intent.id);
    const s = await expectConsistent(riftId);
    expect(s.rift.milestones[0]!.status).toBe('released');
    expect(transfersOf(s, riftId)).toHaveLength(1);
    const done = s.events.find((e) => e.type === 'release.completed')!;
    expect(done).toMatchObject({ actor: 'system', amount: 10000, milestoneIndex: 0, stripeId: s.rift.milestones[0]!.transferId });
    // Idempotent: a second run finds nothing to do for it.
    const again = await t.reconcile();
    expect(again.items.filter((i) => i.riftId === riftId)).toEqual([]);
  });

  it('completes a release left pending by a timeout', async () => {
    const riftId = await fundedRift();
    const intent = await pendingRelease(riftId, 1, 'timeout');
    const s0 = await t.stripeState();
    expect(transfersOf(s0, riftId)).toHaveLength(0); // the timeout did nothing at Stripe
    const out = await t.reconcile();
    expect(out.items).toContainEqual({ kind: 'release', id: intent.id, riftId, outcome: 'completed' });
    const s = await expectConsistent(riftId);
    expect(s.rift.milestones[1]!.status).toBe('released');
    expect(transfersOf(s, riftId)).toHaveLength(1);
  });

  it('completes a commit_then_error_500 release without a second transfer (Stripe replays the key)', async () => {
    const riftId = await fundedRift();
    const intent = await pendingRelease(riftId, 0, 'commit_then_error_500');
    const before = transfersOf(await t.stripeState(), riftId);
    expect(before).toHaveLength(1); // the money moved; the answer was lost
    const out = await t.reconcile();
    expect(out.items).toContainEqual({ kind: 'release', id: intent.id, riftId, outcome: 'completed' });
    const s = await expectConsistent(riftId);
    expect(transfersOf(s, riftId)).toHaveLength(1);
    expect(s.rift.milestones[0]!.transferId).toBe(before[0]!.id);
  });

  it('voids an intent whose Stripe call is refused (balance_insufficient): release.failed, milestone pending, held and unreserved restored', async () => {
    const riftId = await fundedRift();
    const intent = await pendingRelease(riftId, 0);
    const mid = (await t.store.getRift(riftId))!;
    expect(mid.unreserved).toBe(mid.held - 10000);
    await t.emulator('POST', '/_emulator/balance', { currency: 'usd', available: 5 });
    const out = await t.reconcile();
    expect(out.items).toContainEqual({ kind: 'release', id: intent.id, riftId, outcome: 'voided' });
    expect(await pendingIds()).not.toContain(intent.id);
    const s = await expectConsistent(riftId);
    expect(s.rift.milestones[0]!.status).toBe('pending');
    expect(s.rift).toMatchObject({ held: 30000, unreserved: 30000, released: 0 });
    expect(transfersOf(s, riftId)).toHaveLength(0);
    expect(s.events.map((e) => e.type)).toEqual(['rift.created', 'rift.funded', 'release.started', 'release.failed']);
    expect(s.events.at(-1)).toMatchObject({ actor: 'system', amount: 10000, milestoneIndex: 0, details: { providerCode: 'balance_insufficient' } });
    // The milestone can be released again afterwards (a new attempt, a new Stripe key).
    await t.emulator('POST', '/_emulator/balance', { currency: 'usd', available: 10_000_000 });
    const again = await release(riftId, 0);
    expect(again.status).toBe(200);
    const s2 = await expectConsistent(riftId);
    expect(transfersOf(s2, riftId)).toHaveLength(1);
  });

  it('skips an intent whose lease is live (a request in flight) and leaves it to that request', async () => {
    const riftId = await fundedRift();
    // Slow but within STRIPE_TIMEOUT_MS (1 s): the request holds its lease meanwhile.
    await t.fault('POST', '/v1/transfers', 'delay', 1, 700);
    const inFlight = release(riftId, 0);
    let intentId: string | undefined;
    for (let i = 0; i < 100 && !intentId; i++) {
      intentId = (await t.intents(riftId)).find((x) => x.status === 'pending')?.id;
      if (!intentId) await sleep(20);
    }
    expect(intentId).toBeDefined();
    const out = await t.reconcile();
    expect(out.items).toContainEqual({ kind: 'release', id: intentId, riftId, outcome: 'in_flight' });
    expect(out.skippedInFlight).toBeGreaterThanOrEqual(1);
    const r = await inFlight;
    expect(r.status).toBe(200);
    const s = await expectConsistent(riftId);
    expect(transfersOf(s, riftId)).toHaveLength(1);
    expect(s.events.filter((e) => e.type === 'release.completed')).toHaveLength(1);
    expect(s.events.find((e) => e.type === 'release.completed')!.actor).not.toBe('system');
  });

  it('two reconcilers at once drive each intent exactly once', async () => {
    const rifts = [await fundedRift([1000, 2000, 3000]), await fundedRift([4000, 5000])];
    const ids = [
      (await pendingRelease(rifts[0]!, 0)).id,
      (await pendingRelease(rifts[0]!, 2, 'commit_then_error_500')).id,
      (await pendingRelease(rifts[1]!, 1)).id,
    ];
    await t.fault('POST', '/v1/refunds', 'error_500', 2);
    const rf = await t.call('POST', `/api/rifts/${rifts[1]}/refunds`, { as: 'seller', body: { amount: 1500 }, key: 'rk-1' });
    await t.clearFaults();
    expect(rf.status).toBe(502);
    const refundId = (await t.intents(rifts[1]!)).find((i) => i.kind === 'refund')!.id;
    ids.push(refundId);
    const [a, b] = await Promise.all([t.reconcile(), t.reconcile()]);
    for (const id of ids) {
      const outcomes = [...a.items, ...b.items].filter((i) => i.id === id).map((i) => i.outcome);
      expect(outcomes.filter((o) => o === 'completed'), `${id}: ${outcomes}`).toHaveLength(1);
      expect(outcomes.every((o) => o === 'completed' || o === 'in_flight' || o === 'gone')).toBe(true);
    }
    for (const riftId of rifts) {
      const s = await expectConsistent(riftId);
      expect(s.events.filter((e) => e.type.endsWith('.completed'))).toHaveLength(s.intents.length);
    }
    const s1 = await snapshotRift(t, rifts[1]!);
    expect(s1.rift).toMatchObject({ released: 5000, refunded: 1500, held: 2500 });
    expect(s1.stripe.refunds.filter((r) => r.payment_intent === s1.rift.paymentIntentId)).toHaveLength(1);
    for (const id of ids) expect(await pendingIds()).not.toContain(id);
  });

  describe('past Stripe\'s idempotency-key memory, looks the object up before creating anything', () => {
    /** The real gateway, recording which calls the reconciler made. */
    const recording = (calls: string[]): PaymentGateway => {
      const g = escrowDeps().gateway;
      return {
        ...g,
        findTransfer: (...a) => (calls.push('findTransfer'), g.findTransfer(...a)),
        createTransfer: (...a) => (calls.push('createTransfer'), g.createTransfer(...a)),
        findRefund: (...a) => (calls.push('findRefund'), g.findRefund(...a)),
        createRefund: (...a) => (calls.push('createRefund'), g.createRefund(...a)),
      };
    };

    it('a release whose transfer exists is completed from the lookup (fake clock 25 h later), with no create call', async () => {
      const riftId = await fundedRift();
      const intent = await pendingRelease(riftId, 0, 'commit_then_error_500');
      const calls: string[] = [];
      const later = { now: () => new Date(Date.now() + 25 * 3600_000) };
      // A create would fail: only the lookup can complete it.
      await t.fault('POST', '/v1/transfers', 'error_500', 10);
      const out = await reconcilePending({ ...escrowDeps(), gateway: recording(calls), clock: later });
      await t.clearFaults();
      expect(out.items).toContainEqual({ kind: 'release', id: intent.id, riftId, outcome: 'completed' });
      expect(calls).toEqual(['findTransfer']);
      const s = await expectConsistent(riftId);
      expect(transfersOf(s, riftId)).toHaveLength(1);
    });

    it('a release with no transfer at Stripe is looked up, then created once (stripeKeyTtlMs: 0)', async () => {
      const riftId = await fundedRift();
      const intent = await pendingRelease(riftId, 1);
      const calls: string[] = [];
      const out = await reconcilePending({ ...escrowDeps(), gateway: recording(calls), stripeKeyTtlMs: 0 });
      expect(out.items).toContainEqual({ kind: 'release', id: intent.id, riftId, outcome: 'completed' });
      expect(calls).toEqual(['findTransfer', 'createTransfer']);
      const s = await expectConsistent(riftId);
      expect(transfersOf(s, riftId)).toHaveLength(1);
    });

    it('a refund whose Stripe refund exists is completed from the lookup', async () => {
      const riftId = await fundedRift();
      await t.fault('POST', '/v1/refunds', 'commit_then_error_500', 2);
      const rf = await t.call('POST', `/api/rifts/${riftId}/refunds`, { as: 'seller', body: { amount: 700 }, key: 'old-refund' });
      await t.clearFaults();
      expect(rf.status).toBe(502);
      const calls: string[] = [];
      await t.fault('POST', '/v1/refunds', 'error_500', 10);
      const out = await reconcilePending({ ...escrowDeps(), gateway: recording(calls), stripeKeyTtlMs: 0 });
      await t.clearFaults();
      expect(out.items.filter((i) => i.riftId === riftId).map((i) => i.outcome)).toEqual(['completed']);
      expect(calls).toEqual(['findRefund']);
      const s = await expectConsistent(riftId);
      expect(s.rift.refunded).toBe(700);
    });
  });

  describe('a pending release on a rift that got disputed meanwhile', () => {
    it('is voided when Stripe has no transfer', async () => {
      const riftId = await fundedRift();
      const intent = await pendingRelease(riftId, 0);
      const d = await t.call('POST', `/api/rifts/${riftId}/disputes`, { body: { reason: 'not delivered' } });
      expect(d.status).toBe(201);
      // Not before the failed request's Stripe call can no longer land (its lease would have ended).
      const early = await t.reconcile();
      expect(early.items).toContainEqual({ kind: 'release', id: intent.id, riftId, outcome: 'pending' });
      await t.expireLeases(riftId);
      const out = await t.reconcile();
      expect(out.items).toContainEqual({ kind: 'release', id: intent.id, riftId, outcome: 'voided' });
      const s = await expectConsistent(riftId);
      expect(transfersOf(s, riftId)).toHaveLength(0);
      expect(s.rift.milestones[0]!.status).toBe('pending');
      expect(s.rift).toMatchObject({ held: 30000, unreserved: 30000, disputeOpen: true });
      expect(s.events.at(-1)).toMatchObject({ type: 'release.failed', actor: 'system', details: { reason: 'rift_disputed' } });
      expect(await pendingIds()).not.toContain(intent.id);
    });

    it('is not voided while its Stripe request may still land (a slow request the client gave up on)', async () => {
      const riftId = await fundedRift();
      // Stripe takes the key and works for 1.5 s: the SDK times out (1 s), its retry meets the key
      // in use, the client gets 502 — and the transfer still happens afterwards.
      await t.fault('POST', '/v1/transfers', 'delay', 1, 4000);
      const r = await release(riftId, 0);
      expect(r.status).toBe(502);
      const d = await t.call('POST', `/api/rifts/${riftId}/disputes`, { body: { reason: 'changed my mind' } });
      expect(d.status).toBe(201);
      // Right after the 502 the request Stripe is still working on may land: no void yet.
      const out = await t.reconcile();
      expect(out.items.filter((i) => i.riftId === riftId).map((i) => i.outcome)).toEqual(['pending']);
      await sleep(3500);
      // Whatever the reconciler did meanwhile, once Stripe has settled the ledger must agree.
      for (let i = 0; i < 3; i++) {
        await t.expireLeases(riftId);
        await t.reconcile();
      }
      const s = await expectConsistent(riftId);
      expect(transfersOf(s, riftId)).toHaveLength(1);
      expect(s.rift.milestones[0]!.status).toBe('released');
    });

    it('is completed when Stripe already made the transfer', async () => {
      const riftId = await fundedRift();
      const intent = await pendingRelease(riftId, 0, 'commit_then_error_500');
      const d = await t.call('POST', `/api/rifts/${riftId}/disputes`, { as: 'seller', body: { reason: 'buyer unresponsive' } });
      expect(d.status).toBe(201);
      const out = await t.reconcile();
      expect(out.items).toContainEqual({ kind: 'release', id: intent.id, riftId, outcome: 'completed' });
      const s = await expectConsistent(riftId);
      expect(transfersOf(s, riftId)).toHaveLength(1);
      expect(s.rift.milestones[0]!.status).toBe('released');
      expect(s.rift.disputeOpen).toBe(true);
    });
  });

  it('a crashed request (lease lapsed) is finished by the reconciler', async () => {
    const { armCrash } = await import('../../functions/adapters/faults');
    const riftId = await fundedRift();
    armCrash('release');
    const r = await release(riftId, 0);
    expect(r.status).toBeGreaterThanOrEqual(500);
    const out1 = await t.reconcile();
    // The crashed function's lease is live until its timeout: skipped.
    expect(out1.items.filter((i) => i.riftId === riftId).map((i) => i.outcome)).toEqual(['in_flight']);
    await t.expireLeases(riftId);
    const out2 = await t.reconcile();
    expect(out2.items.filter((i) => i.riftId === riftId).map((i) => i.outcome)).toEqual(['completed']);
    const s = await expectConsistent(riftId);
    expect(transfersOf(s, riftId)).toHaveLength(1);
  });
});
