/**
 * The ports the escrow use cases need. Adapters implement them (DynamoDB, Stripe, clock, ids);
 * tests can implement them too. Nothing here knows about AWS or HTTP.
 */
import type { DisputeOutcome, Dispute, RiftRecord } from './rift';

export type AuditEventType =
  | 'rift.created'
  | 'rift.funded'
  | 'release.started'
  | 'release.completed'
  | 'release.failed'
  | 'refund.started'
  | 'refund.completed'
  | 'refund.failed'
  | 'dispute.opened'
  | 'dispute.resolved';

export interface AuditEvent {
  eventId: string;
  type: AuditEventType;
  at: string;
  actor: string;
  amount?: number;
  milestoneIndex?: number;
  stripeId?: string;
  details?: Record<string, unknown>;
}

/**
 * A durable intent to move money (the saga's pending → completed | failed), one per release of a
 * milestone (keyed riftId#milestoneIndex) or per refund (keyed riftId#refundId).
 */
export interface MoneyIntent {
  kind: 'release' | 'refund';
  id: string;
  riftId: string;
  amount: number;
  currency: string;
  milestoneIndex?: number;
  destination?: string;
  paymentIntentId?: string;
  reason?: string;
  status: 'pending' | 'completed' | 'failed';
  /** Bumped when a voided intent is reserved again: Stripe keeps the failed answer under the old key. */
  attempt: number;
  stripeKey: string;
  /** Epoch ms until which the request that holds the intent is "in flight"; 0 = nobody. */
  leaseUntil: number;
  stripeId?: string;
  actor: string;
  createdAt: string;
  completedAt?: string;
  /** Set on reserve; a release reserved by a dispute resolution may ignore the open dispute. */
  ignoreDispute?: boolean;
  /**
   * Epoch ms until which a Stripe request made for this intent may still land: an ended lease (a 502)
   * keeps its old expiry here, since Stripe may still be working on a request the client gave up on.
   * Nothing may conclude "Stripe did not do it" from a lookup before then.
   */
  settleAfter?: number;
}

/** What a reserve found when its conditions failed: the fresh rift and the existing intent. */
export type ReserveOutcome = { ok: true } | { ok: false; rift?: RiftRecord; existing?: MoneyIntent };

export interface FundInput {
  riftId: string;
  paymentIntentId: string;
  amount: number;
  event: AuditEvent;
  stripeEventId?: string;
  /** Which client request (caller + Idempotency-Key, hashed) made the payment, when one did. */
  fundKey?: string;
}

export interface RiftStore {
  createRift(r: RiftRecord, event: AuditEvent): Promise<void>;
  getRift(riftId: string): Promise<RiftRecord | undefined>;
  listRiftsFor(userId: string): Promise<RiftRecord[]>;
  listEvents(riftId: string): Promise<AuditEvent[]>;

  /** Funds once: `applied: false` when it was funded already (by the other path). */
  fundRift(p: FundInput): Promise<{ applied: boolean }>;
  bumpFundingAttempt(riftId: string, from: number): Promise<void>;
  riftIdForPaymentIntent(paymentIntentId: string): Promise<string | undefined>;
  /** Records a webhook event id with no other effect; false when it was processed before. */
  markStripeEventProcessed(stripeEventId: string): Promise<boolean>;

  getIntent(kind: MoneyIntent['kind'], riftId: string, key: string): Promise<MoneyIntent | undefined>;
  reserve(intent: MoneyIntent, event: AuditEvent, opts: { checkDispute: boolean; previousAttempt?: number }): Promise<ReserveOutcome>;
  /** Takes over an abandoned intent (conditional on the lease it saw); false when someone else did. */
  takeOver(intent: MoneyIntent, leaseUntil: number): Promise<boolean>;
  /** false when the intent was no longer pending (another worker finished it). */
  complete(intent: MoneyIntent, stripeId: string, at: string, event: AuditEvent): Promise<boolean>;
  voidIntent(intent: MoneyIntent, at: string, event: AuditEvent): Promise<boolean>;
  endLease(intent: MoneyIntent): Promise<void>;
  /** Pending intents created before `before` (the reconciler's sparse index). */
  listPendingIntents(before: string, limit: number): Promise<MoneyIntent[]>;

  openDispute(riftId: string, dispute: Dispute, event: AuditEvent, stripeEventId?: string): Promise<{ ok: true } | { ok: false; rift?: RiftRecord; duplicateEvent?: boolean }>;
  /** Records a chargeback that met an open dispute (audit only, once per webhook event). */
  recordEvent(riftId: string, event: AuditEvent, stripeEventId?: string): Promise<boolean>;
  resolveDispute(riftId: string, disputeId: string, outcome: DisputeOutcome, at: string, event: AuditEvent): Promise<boolean>;
}

export interface Clock {
  now(): Date;
}

export interface Ids {
  /** A new id with a prefix: `rift_…`, `rel_…`, `dsp_…`, `evt_…`; event ids sort by time. */
  next(prefix: string): string;
  /** A deterministic id from parts (refund ids from the client's Idempotency-Key). */
  derive(prefix: string, ...parts: string[]): string;
}
