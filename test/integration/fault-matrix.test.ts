/**
 * The fault matrix: every money operation (fund, release, refund) × every fault the emulator
 * injects (error_500 before acting, timeout, commit_then_error_500) plus a crash between the
 * Stripe call and the completing write, each recovered two ways: a retry of the same request
 * (same Idempotency-Key), and separately the background path (the reconciler; for funding, the
 * `payment_intent.succeeded` webhook, which is how a lost funding answer is recovered).
 *
 * After each: the client got 502 payment_provider_error (a crash: a 5xx — the function died, so
 * API Gateway answers for it), never a 200 for money that did not move nor a 4xx for money that
 * did; the invariant holds; exactly one Stripe object per intent; the audit trail tells the story.
 *
 * Fund has no crash hook (`armCrash` covers the release/refund saga): its "crash after Stripe" is
 * a PaymentIntent that succeeded while the function lost the answer AND its webhook was not
 * delivered (yet); the retry replays the Stripe key, the webhook (redelivered) funds it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditProblems, ledgerProblems, snapshotRift, startTestStack, type TestStack } from '../support/faults-helpers';
import { armCrash, disarmAll } from '../../functions/adapters/faults';

type Op = 'fund' | 'release' | 'refund';
type FaultCase = 'error_500' | 'timeout' | 'commit_then_error_500' | 'crash';
type Recovery = 'retry' | 'background';

const OPS: Op[] = ['fund', 'release', 'refund'];
const FAULTS: FaultCase[] = ['error_500', 'timeout', 'commit_then_error_500', 'crash'];
const RECOVERIES: Recovery[] = ['retry', 'background'];
const STRIPE_PATH: Record<Op, string> = { fund: '/v1/payment_intents', release: '/v1/transfers', refund: '/v1/refunds' };
/** Did the money move at Stripe before the client got its error? */
const MOVED: Record<FaultCase, boolean> = { error_500: false, timeout: false, commit_then_error_500: true, crash: true };

let t: TestStack;
let webhookUrl: string;

beforeAll(async () => {
  t = await startTestStack({ stripeTimeoutMs: 800 });
  webhookUrl = `${t.stack.apiUrl}/api/webhooks/stripe`;
});
afterAll(async () => {
  await t?.stop();
});
beforeEach(async () => {
  disarmAll();
  await t.clearFaults();
  await t.emulator('POST', '/_emulator/webhooks', { url: webhookUrl });
});

async function arm(op: Op, fault: FaultCase) {
  const path = STRIPE_PATH[op];
  if (fault === 'crash') {
    if (op === 'fund') {
      // The answer is lost (500 after the commit, past the SDK retry) and so is the webhook.
      await t.emulator('POST', '/_emulator/webhooks', { url: null });
      await t.fault('POST', path, 'commit_then_error_500', 2);
    } else {
      armCrash(op);
    }
  } else if (fault === 'timeout') {
    // Longer than STRIPE_TIMEOUT_MS: every attempt of the SDK (1 + its retry) times out.
    await t.fault('POST', path, 'timeout', 3, 2000);
  } else {
    // Twice: the SDK's own retry (same key) would otherwise hide a single failure.
    await t.fault('POST', path, fault, 2);
  }
}

function request(op: Op, riftId: string, key: string) {
  if (op === 'fund') return t.call('POST', `/api/rifts/${riftId}/fund`, { body: { paymentMethodId: 'pm_card_visa' }, key });
  if (op === 'release') return t.call('POST', `/api/rifts/${riftId}/milestones/0/release`, { body: {}, key });
  return t.call('POST', `/api/rifts/${riftId}/refunds`, { as: 'seller', body: { amount: 5000 }, key });
}

const SUCCESS: Record<Op, number> = { fund: 200, release: 200, refund: 201 };

const cases = OPS.flatMap((op) => FAULTS.flatMap((fault) => RECOVERIES.map((recovery) => ({ op, fault, recovery }))));

describe('fault matrix', () => {
  it('covers every operation × fault × recovery', () => {
    expect(cases).toHaveLength(OPS.length * FAULTS.length * RECOVERIES.length);
  });

  it.each(cases)('$op × $fault, then $recovery', async ({ op, fault, recovery }) => {
    const created = await t.createRift([10000, 20000]);
    const riftId = created.riftId;
    if (op !== 'fund') {
      expect((await t.fund(riftId)).status).toBe(200);
      await t.settleWebhooks();
    }
    const key = `k-${op}-${fault}-${recovery}`;
    await arm(op, fault);
    const first = await request(op, riftId, key);
    await t.clearFaults();
    disarmAll();

    // 1. The client's answer: a 5xx, never a 200 (money may not have moved), never a 4xx (it may have).
    if (fault === 'crash' && op !== 'fund') {
      expect(first.status).toBeGreaterThanOrEqual(500);
    } else {
      expect(first.status).toBe(502);
      expect(first.body.error.code).toBe('payment_provider_error');
      expect(first.headers.get('x-request-id')).toBe(first.body.error.requestId);
    }
    const stripeNow = await t.stripeState();
    const movedObjects =
      op === 'fund'
        ? stripeNow.paymentIntents.filter((p) => p.metadata?.riftId === riftId && p.status === 'succeeded').length
        : op === 'release'
          ? stripeNow.transfers.filter((x) => x.transfer_group === riftId).length
          : stripeNow.refunds.filter((r) => r.payment_intent === created.paymentIntentId || r.metadata?.riftId === riftId).length;
    expect(movedObjects).toBe(MOVED[fault] ? 1 : 0);

    // While it is unresolved the invariant already holds (the amount is claimed, not moved).
    const mid = await snapshotRift(t, riftId);
    expect(ledgerProblems(mid.rift, mid.intents, mid.stripe, { allowPending: true })).toEqual([]);
    if (op !== 'fund') {
      expect(mid.intents.filter((i) => i.status === 'pending')).toHaveLength(1);
      expect(mid.events.filter((e) => e.type === `${op}.started`)).toHaveLength(1);
      expect(mid.events.filter((e) => e.type === `${op}.completed`)).toHaveLength(0);
    }

    // 2. Recovery. A crashed function's lease lapses after its timeout: make that time pass.
    if (fault === 'crash' && op !== 'fund') await t.expireLeases(riftId);
    let expectDone = true;
    if (recovery === 'retry') {
      const again = await request(op, riftId, key);
      // For fund the payment_intent.succeeded webhook may have funded the rift before the retry:
      // the PaymentIntent carries the request's key (hashed), so the retry is still the success.
      expect(again.status, JSON.stringify(again.body)).toBe(SUCCESS[op]);
      // A replay of the retry's answer: the same, saved this time.
      const replay = await request(op, riftId, key);
      expect(replay.status).toBe(again.status);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(again.body);
      if (op === 'fund' && fault === 'crash') {
        await t.emulator('POST', '/_emulator/webhooks', { url: webhookUrl });
        const evt = stripeNow.events.find((e) => e.type === 'payment_intent.succeeded' && e.data.object.metadata?.riftId === riftId)!;
        await t.emulator('POST', '/_emulator/webhooks/resend', { eventId: evt.id });
      }
    } else if (op === 'fund') {
      if (fault === 'crash') {
        await t.emulator('POST', '/_emulator/webhooks', { url: webhookUrl });
        const evt = stripeNow.events.find((e) => e.type === 'payment_intent.succeeded' && e.data.object.metadata?.riftId === riftId)!;
        await t.emulator('POST', '/_emulator/webhooks/resend', { eventId: evt.id });
      }
      // Nothing at Stripe: nothing to recover, the rift stays awaiting funding (the client retries).
      expectDone = MOVED[fault];
    } else {
      const out = await t.reconcile();
      expect(out.items.filter((i) => i.riftId === riftId).map((i) => i.outcome)).toEqual(['completed']);
    }
    await t.settleWebhooks();
    // The background path, run again after the retry, finds nothing more to do.
    if (op !== 'fund') expect((await t.reconcile()).items.filter((i) => i.riftId === riftId)).toEqual([]);

    // 3. The ledger: invariant, one Stripe object per intent, DynamoDB = Stripe.
    const s = await snapshotRift(t, riftId);
    expect(ledgerProblems(s.rift, s.intents, s.stripe)).toEqual([]);
    expect(auditProblems(s.events, s.intents, s.rift)).toEqual([]);
    const types = s.events.map((e) => e.type);
    if (op === 'fund') {
      expect(s.rift.funded).toBe(expectDone ? 30000 : 0);
      expect(types.filter((x) => x === 'rift.funded')).toHaveLength(expectDone ? 1 : 0);
      expect(s.stripe.paymentIntents.filter((p) => p.metadata?.riftId === riftId && p.status === 'succeeded')).toHaveLength(expectDone ? 1 : 0);
    } else {
      expect(types.filter((x) => x.startsWith(`${op}.`))).toEqual([`${op}.started`, `${op}.completed`]);
      const completed = s.events.find((e) => e.type === `${op}.completed`)!;
      expect(completed.actor).toBe(recovery === 'retry' ? (op === 'release' ? 'user_buyer' : 'user_seller') : 'system');
      if (op === 'release') {
        expect(s.rift).toMatchObject({ released: 10000, held: 20000, unreserved: 20000 });
        expect(s.stripe.transfers.filter((x) => x.transfer_group === riftId)).toHaveLength(1);
      } else {
        expect(s.rift).toMatchObject({ refunded: 5000, held: 25000, unreserved: 25000 });
        expect(s.stripe.refunds.filter((r) => r.payment_intent === s.rift.paymentIntentId)).toHaveLength(1);
      }
    }
    // The API tells the same story as the table.
    const view = await t.call('GET', `/api/rifts/${riftId}`);
    expect(view.body.amounts).toEqual({ total: 30000, funded: s.rift.funded, released: s.rift.released, refunded: s.rift.refunded, held: s.rift.held });
    const ev = await t.call('GET', `/api/rifts/${riftId}/events`);
    expect(ev.body.events.map((e: { type: string }) => e.type)).toEqual(types);
  });

  it('a funding attempt with another card while the first one\'s answer was lost is a 409, not a 400 leaking Stripe\'s key', async () => {
    const { riftId } = await t.createRift([4000]);
    // The decline is saved at Stripe under the rift's funding key, but the answer is lost.
    await t.fault('POST', '/v1/payment_intents', 'commit_then_error_500', 2);
    const first = await t.call('POST', `/api/rifts/${riftId}/fund`, { body: { paymentMethodId: 'pm_card_chargeDeclined' } });
    await t.clearFaults();
    expect(first.status).toBe(502);
    const other = await t.call('POST', `/api/rifts/${riftId}/fund`, { body: { paymentMethodId: 'pm_card_visa' } });
    expect(other.status, JSON.stringify(other.body)).toBe(409);
    expect(other.body.error.code).toBe('idempotency_key_in_use');
    expect(JSON.stringify(other.body)).not.toContain('fund:');
    // The same card again replays the saved decline, which frees the next attempt.
    const again = await t.call('POST', `/api/rifts/${riftId}/fund`, { body: { paymentMethodId: 'pm_card_chargeDeclined' } });
    expect(again.body.error.code).toBe('card_declined');
    expect((await t.call('POST', `/api/rifts/${riftId}/fund`, { body: { paymentMethodId: 'pm_card_visa' } })).status).toBe(200);
    await t.settleWebhooks();
    const s = await snapshotRift(t, riftId);
    expect(ledgerProblems(s.rift, s.intents, s.stripe)).toEqual([]);
  });
});
