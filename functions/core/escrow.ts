/**
 * The escrow use cases: plain async functions over the ports. Money moves through a small saga
 * with a durable intent (TigerBeetle's pending → post | void):
 *   reserve (intent pending + amount claimed + `.started`, one transaction)
 *   → move at Stripe with a deterministic idempotency key
 *   → complete (intent completed + totals + `.completed`)  |  void on a definite no (`.failed`)
 * A Stripe outcome that is unknown (timeout, 5xx) leaves the intent pending, ends the lease and
 * answers 502: the same request, or the reconciler, resumes it with the same key.
 */
import { RiftError } from './errors';
import type { PaymentGateway } from './payment-port';
import { PaymentProviderError } from './payment-port';
import type { AuditEvent, AuditEventType, Clock, Ids, MoneyIntent, RiftStore } from './ports';
import {
  checkFund,
  checkOpenDispute,
  checkRefund,
  checkRelease,
  checkResolveDispute,
  newRift,
  type Actor,
  type Dispute,
  type DisputeOutcome,
  type Milestone,
  type NewRiftInput,
  type RiftRecord,
} from './rift';

export interface EscrowDeps {
  store: RiftStore;
  gateway: PaymentGateway;
  clock: Clock;
  ids: Ids;
  /** How long a request holds an intent (a little more than the function timeout). */
  leaseMs: number;
  /** Stripe forgets idempotency keys after 24 h: older intents are looked up before any retry. */
  stripeKeyTtlMs?: number;
  /** Test-only fault: throw after the Stripe call and before the completing write (a crash). */
  crashAfterStripe?: (intent: MoneyIntent) => boolean;
}

export class SimulatedCrash extends Error {
  constructor() {
    super('simulated crash between the Stripe call and the completing write');
    this.name = 'SimulatedCrash';
  }
}

const STRIPE_KEY_TTL_MS = 23 * 60 * 60 * 1000;

function event(deps: EscrowDeps, type: AuditEventType, actor: string, extra: Partial<AuditEvent> = {}): AuditEvent {
  return { eventId: deps.ids.next('evt'), type, at: deps.clock.now().toISOString(), actor, ...extra };
}

const providerError = (message: string) => new RiftError('payment_provider_error', message);

// ---- rifts and funding ---------------------------------------------------------------------

export async function createRift(deps: EscrowDeps, input: NewRiftInput, buyer: Actor): Promise<RiftRecord> {
  const now = deps.clock.now().toISOString();
  const rift = newRift(input, buyer.sub, deps.ids.next('rift'), now);
  await deps.store.createRift(rift, event(deps, 'rift.created', buyer.sub, { amount: rift.total }));
  return rift;
}

export async function fundRift(deps: EscrowDeps, rift: RiftRecord, paymentMethodId: string, actor: Actor, clientKey?: string): Promise<RiftRecord> {
  // The client's Idempotency-Key travels in the PaymentIntent's metadata and is stored with the
  // funding: a retry after a 502 whose payment the webhook already recorded is the same success.
  const fundKey = clientKey ? deps.ids.derive('fk', rift.riftId, actor.sub, clientKey) : undefined;
  if (fundKey && rift.funded > 0 && rift.fundedByKey === fundKey) return rift;
  checkFund(rift);
  let pi;
  try {
    pi = await deps.gateway.createAndConfirmPayment({
      amount: rift.total,
      currency: rift.currency,
      paymentMethodId,
      riftId: rift.riftId,
      ...(fundKey ? { fundKey } : {}),
      // One key per funding attempt: a retry after a 502 replays the same PaymentIntent.
      idempotencyKey: `fund:${rift.riftId}:${rift.fundingAttempt}`,
    });
  } catch (e) {
    if (e instanceof PaymentProviderError && e.kind === 'declined') {
      // The decline is saved by Stripe under this key: the next attempt needs a new one.
      await deps.store.bumpFundingAttempt(rift.riftId, rift.fundingAttempt);
      throw new RiftError('card_declined', 'the card was declined', { declineCode: e.providerCode });
    }
    if (e instanceof PaymentProviderError && e.kind === 'rejected') {
      if (e.providerCode === 'idempotency_key_in_use' || e.providerCode === 'idempotency_error') {
        throw new RiftError('idempotency_key_in_use', 'another funding attempt for this rift is in progress');
      }
      throw new RiftError('validation_error', `the payment was refused: ${e.message}`, { issues: [{ path: 'paymentMethodId', message: e.message }] });
    }
    throw providerError('the payment provider did not answer; retry the same request');
  }
  if (pi.status !== 'succeeded') {
    throw providerError(`the payment is ${pi.status}; retry the same request`);
  }
  const funded = event(deps, 'rift.funded', actor.sub, { amount: pi.amount, stripeId: pi.id });
  const { applied } = await deps.store.fundRift({
    riftId: rift.riftId,
    paymentIntentId: pi.id,
    amount: pi.amount,
    event: funded,
    ...(fundKey ? { fundKey } : {}),
  });
  if (!applied) {
    const fresh = await deps.store.getRift(rift.riftId);
    // Funded meanwhile by the webhook for this same PaymentIntent: the same success.
    if (fresh && fresh.paymentIntentId === pi.id) return fresh;
    throw new RiftError('rift_already_funded', 'the rift is already funded');
  }
  return {
    ...rift,
    funded: rift.total,
    held: rift.total,
    unreserved: rift.total,
    paymentIntentId: pi.id,
    // The store wrote the event's time as updatedAt: answer the rift as stored.
    updatedAt: funded.at,
    version: rift.version + 1,
  };
}

/** The webhook path to `funded` (`payment_intent.succeeded`); together with the API path, once. */
export async function fundFromWebhook(
  deps: EscrowDeps,
  p: { riftId: string; paymentIntentId: string; amount: number; currency: string; stripeEventId: string; fundKey?: string },
): Promise<'funded' | 'already' | 'ignored'> {
  const rift = await deps.store.getRift(p.riftId);
  if (!rift || rift.funded > 0 || p.amount !== rift.total || p.currency !== rift.currency) {
    return (await deps.store.markStripeEventProcessed(p.stripeEventId)) ? (rift && rift.funded > 0 ? 'already' : 'ignored') : 'already';
  }
  const { applied } = await deps.store.fundRift({
    riftId: rift.riftId,
    paymentIntentId: p.paymentIntentId,
    amount: p.amount,
    event: event(deps, 'rift.funded', 'stripe', { amount: p.amount, stripeId: p.paymentIntentId }),
    stripeEventId: p.stripeEventId,
    ...(p.fundKey ? { fundKey: p.fundKey } : {}),
  });
  if (!applied) await deps.store.markStripeEventProcessed(p.stripeEventId);
  return applied ? 'funded' : 'already';
}

// ---- the money saga ------------------------------------------------------------------------

export interface SagaResult {
  intent: MoneyIntent;
  rift: RiftRecord;
}

/**
 * Projects a completed intent onto the rift we hold (the store applied the same arithmetic), so the
 * answer needs no extra read. `unreserved` is untouched: the reserve already claimed the amount.
 */
function afterComplete(rift: RiftRecord, intent: MoneyIntent, stripeId: string, at: string, versionBump: number): RiftRecord {
  const milestones = rift.milestones.map((m) =>
    intent.kind === 'release' && m.index === intent.milestoneIndex ? { ...m, status: 'released' as const, releasedAt: at, transferId: stripeId } : m,
  );
  return {
    ...rift,
    milestones,
    released: rift.released + (intent.kind === 'release' ? intent.amount : 0),
    refunded: rift.refunded + (intent.kind === 'refund' ? intent.amount : 0),
    held: rift.held - intent.amount,
    updatedAt: at,
    version: rift.version + versionBump,
  };
}

async function moveMoney(deps: EscrowDeps, intent: MoneyIntent): Promise<string> {
  const old = deps.clock.now().getTime() - Date.parse(intent.createdAt) > (deps.stripeKeyTtlMs ?? STRIPE_KEY_TTL_MS);
  if (intent.kind === 'release') {
    if (old) {
      const found = await deps.gateway.findTransfer(intent.riftId, intent.id);
      if (found) return found.id;
    }
    const t = await deps.gateway.createTransfer({
      amount: intent.amount,
      currency: intent.currency,
      destination: intent.destination!,
      riftId: intent.riftId,
      milestoneIndex: intent.milestoneIndex!,
      releaseId: intent.id,
      idempotencyKey: intent.stripeKey,
    });
    return t.id;
  }
  if (old) {
    const found = await deps.gateway.findRefund(intent.paymentIntentId!, intent.id);
    if (found) return found.id;
  }
  const r = await deps.gateway.createRefund({
    paymentIntentId: intent.paymentIntentId!,
    amount: intent.amount,
    riftId: intent.riftId,
    refundId: intent.id,
    idempotencyKey: intent.stripeKey,
  });
  return r.id;
}

/**
 * Drives a reserved (or taken-over) intent to its end. Returns the completed intent, throws the
 * mapped error after a void, or 502 when the outcome is unknown (the intent stays pending).
 */
export async function driveIntent(deps: EscrowDeps, intent: MoneyIntent, actor: string): Promise<MoneyIntent> {
  let stripeId: string;
  try {
    stripeId = await moveMoney(deps, intent);
  } catch (e) {
    const pe = e instanceof PaymentProviderError ? e : new PaymentProviderError('unavailable', undefined, String(e));
    if (pe.kind === 'unavailable') {
      await deps.store.endLease(intent).catch(() => undefined);
      throw providerError(`the payment provider did not answer; the ${intent.kind} is pending and safe to retry`);
    }
    // A definite no: give the amount back and record why.
    const at = deps.clock.now().toISOString();
    await deps.store.voidIntent(
      intent,
      at,
      event(deps, `${intent.kind}.failed`, actor, {
        amount: intent.amount,
        ...(intent.milestoneIndex !== undefined ? { milestoneIndex: intent.milestoneIndex } : {}),
        details: { providerCode: pe.providerCode ?? null, message: pe.message },
      }),
    );
    if (pe.providerCode === 'balance_insufficient') {
      // The contract's details are { currency, available, required } on every path to this error;
      // `available` is read now (best effort: null when the balance cannot be read).
      const available = await deps.gateway
        .getBalance()
        .then((b) => b.find((e) => e.currency.toLowerCase() === intent.currency.toLowerCase())?.available ?? 0)
        .catch(() => null);
      throw new RiftError('insufficient_platform_balance', 'the platform balance is too low for this transfer', {
        currency: intent.currency,
        available,
        required: intent.amount,
      });
    }
    if (pe.providerCode === 'charge_disputed') {
      // A chargeback is open on the charge: Stripe refuses refunds; the card network returns the money.
      throw new RiftError('rift_disputed', 'the payment is under a chargeback: Stripe does not allow a refund until it is settled', {
        providerCode: pe.providerCode,
      });
    }
    throw new RiftError('payment_provider_error', `the payment provider refused the ${intent.kind}: ${pe.message}`, { providerCode: pe.providerCode ?? null, voided: true });
  }
  if (deps.crashAfterStripe?.(intent)) throw new SimulatedCrash();
  const at = deps.clock.now().toISOString();
  let done: boolean;
  try {
    done = await deps.store.complete(
      intent,
      stripeId,
      at,
      event(deps, `${intent.kind}.completed`, actor, {
        amount: intent.amount,
        stripeId,
        ...(intent.milestoneIndex !== undefined ? { milestoneIndex: intent.milestoneIndex } : {}),
      }),
    );
  } catch {
    // The money moved but the record did not: never a 4xx or 200; the retry replays the same key.
    await deps.store.endLease(intent).catch(() => undefined);
    throw providerError(`the ${intent.kind} was sent but not recorded; retry the same request`);
  }
  if (!done) {
    const fresh = await deps.store.getIntent(intent.kind, intent.riftId, intentKey(intent));
    if (fresh?.status === 'completed') return fresh;
    throw providerError(`the ${intent.kind} changed state while completing; retry the same request`);
  }
  return { ...intent, status: 'completed', stripeId, completedAt: at, leaseUntil: 0 };
}

export const intentKey = (i: Pick<MoneyIntent, 'kind' | 'milestoneIndex' | 'id'>) => (i.kind === 'release' ? String(i.milestoneIndex) : i.id);

function inFlightOf(existing: MoneyIntent | undefined, nowMs: number): 'none' | 'live' | 'stale' {
  if (!existing || existing.status !== 'pending') return 'none';
  return existing.leaseUntil > nowMs ? 'live' : 'stale';
}

/** Checks that the platform can pay before anything is written (the release path). */
export type BalanceCheck = (currency: string, amount: number) => Promise<{ ok: boolean; available: number; required: number }>;

export async function releaseMilestone(
  deps: EscrowDeps & { checkBalance: BalanceCheck },
  riftIn: RiftRecord,
  milestone: Milestone,
  actor: Actor,
  opts: { ignoreDispute?: boolean } = {},
): Promise<SagaResult> {
  let rift = riftIn;
  let m = milestone;
  for (let round = 0; round < 4; round++) {
    const nowMs = deps.clock.now().getTime();
    // Only a releasing milestone (or a lost race) needs its intent: a pending one has none in flight and
    // a released one is refused by the rules without it.
    const existing = m.status !== 'releasing' && round === 0 ? undefined : await deps.store.getIntent('release', rift.riftId, String(m.index));
    const decision = checkRelease(rift, m, inFlightOf(existing, nowMs), opts);
    let intent: MoneyIntent;
    if (decision === 'resume') {
      if (!existing || existing.status !== 'pending') {
        // The milestone says releasing but no pending intent was found: read again.
        rift = (await deps.store.getRift(rift.riftId)) ?? rift;
        m = rift.milestones[m.index]!;
        continue;
      }
      const leaseUntil = nowMs + deps.leaseMs;
      if (!(await deps.store.takeOver(existing, leaseUntil))) throw new RiftError('release_in_progress', `a release of milestone ${m.index} is in progress`);
      intent = { ...existing, leaseUntil };
    } else {
      const bal = await deps.checkBalance(rift.currency, m.amount);
      if (!bal.ok) {
        throw new RiftError('insufficient_platform_balance', 'the platform balance is too low for this transfer', {
          currency: rift.currency,
          available: bal.available,
          required: bal.required,
        });
      }
      const attempt = existing?.status === 'failed' ? existing.attempt + 1 : 1;
      intent = {
        kind: 'release',
        id: existing?.id ?? deps.ids.next('rel'),
        riftId: rift.riftId,
        amount: m.amount,
        currency: rift.currency,
        milestoneIndex: m.index,
        destination: rift.sellerAccountId,
        status: 'pending',
        attempt,
        stripeKey: `release:${rift.riftId}:${m.index}${attempt > 1 ? `:${attempt}` : ''}`,
        leaseUntil: nowMs + deps.leaseMs,
        actor: actor.sub,
        createdAt: deps.clock.now().toISOString(),
        ...(opts.ignoreDispute ? { ignoreDispute: true } : {}),
      };
      const out = await deps.store.reserve(intent, event(deps, 'release.started', actor.sub, { amount: m.amount, milestoneIndex: m.index }), {
        checkDispute: !opts.ignoreDispute,
        previousAttempt: existing?.status === 'failed' ? existing.attempt : undefined,
      });
      if (!out.ok) {
        // Lost a race: decide again on the fresh state (precise error, or resume an abandoned one).
        rift = out.rift ?? (await deps.store.getRift(rift.riftId)) ?? rift;
        m = rift.milestones[m.index]!;
        if (out.existing?.status === 'completed') throw new RiftError('milestone_already_released', `milestone ${m.index} is already released`);
        continue;
      }
      rift = { ...rift, unreserved: rift.unreserved - m.amount, milestones: rift.milestones.map((x) => (x.index === m.index ? { ...x, status: 'releasing' as const } : x)), version: rift.version + 1 };
    }
    const done = await driveIntent(deps, intent, actor.sub);
    return { intent: done, rift: afterComplete(rift, done, done.stripeId!, done.completedAt ?? deps.clock.now().toISOString(), 1) };
  }
  throw new RiftError('release_in_progress', 'the rift is changing under this request; retry');
}

export async function refundRift(
  deps: EscrowDeps,
  riftIn: RiftRecord,
  p: { amount?: number; reason?: string; clientKey: string; refundId?: string },
  actor: Actor,
): Promise<SagaResult> {
  let rift = riftIn;
  const refundId = p.refundId ?? deps.ids.derive('ref', rift.riftId, actor.sub, p.clientKey);
  for (let round = 0; round < 4; round++) {
    const nowMs = deps.clock.now().getTime();
    const existing = await deps.store.getIntent('refund', rift.riftId, refundId);
    if (existing && existing.status !== 'failed') {
      if (p.amount !== undefined && p.amount !== existing.amount) {
        throw new RiftError('idempotency_key_reused', 'this Idempotency-Key was used for a refund of another amount');
      }
      if (existing.status === 'completed') {
        return { intent: existing, rift: (await deps.store.getRift(rift.riftId)) ?? rift };
      }
      if (existing.leaseUntil > nowMs) throw new RiftError('idempotency_key_in_use', 'this refund is in progress');
      const leaseUntil = nowMs + deps.leaseMs;
      if (!(await deps.store.takeOver(existing, leaseUntil))) throw new RiftError('idempotency_key_in_use', 'this refund is in progress');
      const done = await driveIntent(deps, { ...existing, leaseUntil }, actor.sub);
      return { intent: done, rift: (await deps.store.getRift(rift.riftId)) ?? rift };
    }
    const amount = checkRefund(rift, p.amount, actor);
    const attempt = existing?.status === 'failed' ? existing.attempt + 1 : 1;
    const intent: MoneyIntent = {
      kind: 'refund',
      id: refundId,
      riftId: rift.riftId,
      amount,
      currency: rift.currency,
      paymentIntentId: rift.paymentIntentId,
      ...(p.reason !== undefined ? { reason: p.reason } : {}),
      status: 'pending',
      attempt,
      stripeKey: `refund:${rift.riftId}:${refundId}${attempt > 1 ? `:${attempt}` : ''}`,
      leaseUntil: nowMs + deps.leaseMs,
      actor: actor.sub,
      createdAt: deps.clock.now().toISOString(),
    };
    const out = await deps.store.reserve(intent, event(deps, 'refund.started', actor.sub, { amount }), {
      checkDispute: !actor.isAdmin,
      previousAttempt: existing?.status === 'failed' ? existing.attempt : undefined,
    });
    if (!out.ok) {
      rift = out.rift ?? (await deps.store.getRift(rift.riftId)) ?? rift;
      continue;
    }
    rift = { ...rift, unreserved: rift.unreserved - amount, version: rift.version + 1 };
    const done = await driveIntent(deps, intent, actor.sub);
    return { intent: done, rift: afterComplete(rift, done, done.stripeId!, done.completedAt!, 1) };
  }
  throw new RiftError('refund_in_progress', 'the rift is changing under this request; retry');
}

// ---- disputes --------------------------------------------------------------------------------

export async function openDispute(
  deps: EscrowDeps,
  riftIn: RiftRecord,
  p: { reason: string; source: 'party' | 'chargeback'; openedBy: string; stripeDisputeId?: string; stripeEventId?: string },
): Promise<{ dispute: Dispute; rift: RiftRecord }> {
  let rift = riftIn;
  for (let round = 0; round < 3; round++) {
    checkOpenDispute(rift);
    const at = deps.clock.now().toISOString();
    const dispute: Dispute = {
      disputeId: deps.ids.next('dsp'),
      status: 'open',
      reason: p.reason,
      openedBy: p.openedBy,
      source: p.source,
      openedAt: at,
      ...(p.stripeDisputeId ? { stripeDisputeId: p.stripeDisputeId } : {}),
    };
    const out = await deps.store.openDispute(
      rift.riftId,
      dispute,
      // One time for the dispute, the event and the rift's updatedAt (the store writes the event's).
      event(deps, 'dispute.opened', p.openedBy, { at, ...(p.stripeDisputeId ? { stripeId: p.stripeDisputeId } : {}), details: { disputeId: dispute.disputeId, source: p.source } }),
      p.stripeEventId,
    );
    if (out.ok) return { dispute, rift: { ...rift, dispute, disputeOpen: true, updatedAt: at, version: rift.version + 1 } };
    if (out.duplicateEvent) throw new RiftError('dispute_already_open', 'this Stripe event was processed already');
    rift = out.rift ?? (await deps.store.getRift(rift.riftId)) ?? rift;
  }
  throw new RiftError('dispute_already_open', 'the rift is changing under this request; retry');
}

export async function resolveDispute(
  deps: EscrowDeps & { checkBalance: BalanceCheck },
  riftIn: RiftRecord,
  outcome: DisputeOutcome,
  admin: Actor,
): Promise<{ dispute: Dispute; rift: RiftRecord }> {
  let rift = riftIn;
  const dispute = checkResolveDispute(rift);
  // Money first, then the resolution: a 502 leaves the dispute open, so the same request resumes it.
  if (outcome === 'refund_buyer' && rift.held > 0) {
    const pending = rift.held - rift.unreserved;
    if (pending > 0) {
      // Finish or void what is in flight first (e.g. a release reserved before the dispute).
      throw new RiftError('release_in_progress', 'a release or refund is in progress; retry when it has finished');
    }
    const r = await refundRift(deps, rift, { clientKey: `dispute:${dispute.disputeId}`, reason: 'dispute resolved: refund_buyer' }, admin);
    rift = r.rift;
  }
  if (outcome === 'release_seller') {
    for (const m of rift.milestones) {
      if (m.status === 'released') continue;
      const r = await releaseMilestone(deps, rift, m, admin, { ignoreDispute: true });
      rift = r.rift;
    }
  }
  const at = deps.clock.now().toISOString();
  const ok = await deps.store.resolveDispute(rift.riftId, dispute.disputeId, outcome, at, event(deps, 'dispute.resolved', admin.sub, { details: { disputeId: dispute.disputeId, outcome } }));
  if (!ok) throw new RiftError('no_open_dispute', 'no dispute is open on this rift');
  const fresh = (await deps.store.getRift(rift.riftId)) ?? rift;
  return { dispute: fresh.dispute ?? { ...dispute, status: 'resolved', outcome, resolvedAt: at }, rift: fresh };
}
