/**
 * The rift domain, pure: the stored record, its derived status and API view, who may do what,
 * and the business rules in the contract's order. No AWS, no Stripe, no HTTP.
 */
import { RiftError } from './errors';

export type MilestoneStatus = 'pending' | 'releasing' | 'released';
export type RiftStatus = 'awaiting_funding' | 'funded' | 'disputed' | 'completed' | 'refunded' | 'closed';

export interface Milestone {
  index: number;
  title: string;
  amount: number;
  status: MilestoneStatus;
  releasedAt?: string;
  transferId?: string;
}

export interface Dispute {
  disputeId: string;
  status: 'open' | 'resolved';
  reason: string;
  openedBy: string;
  source: 'party' | 'chargeback';
  openedAt: string;
  outcome?: DisputeOutcome;
  resolvedAt?: string;
  stripeDisputeId?: string;
}
export type DisputeOutcome = 'dismiss' | 'refund_buyer' | 'release_seller';

/**
 * The stored rift. Besides the contract's amounts it keeps `unreserved`: held money that no
 * pending release or refund has claimed. DynamoDB conditions compare it directly
 * (`unreserved >= :amount`), because conditions have no arithmetic.
 */
export interface RiftRecord {
  riftId: string;
  title: string;
  buyerId: string;
  sellerId: string;
  sellerAccountId: string;
  currency: string;
  milestones: Milestone[];
  total: number;
  funded: number;
  released: number;
  refunded: number;
  held: number;
  unreserved: number;
  paymentIntentId?: string;
  /** The hashed caller + Idempotency-Key of the fund request whose payment funded the rift. */
  fundedByKey?: string;
  fundingAttempt: number;
  dispute: Dispute | null;
  disputeOpen: boolean;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** The contract's rift object: the stored record's public fields, plus derived status and amounts. */
export type RiftView = Pick<
  RiftRecord,
  'riftId' | 'title' | 'buyerId' | 'sellerId' | 'sellerAccountId' | 'currency' | 'milestones' | 'dispute' | 'createdAt' | 'updatedAt' | 'version'
> & {
  status: RiftStatus;
  amounts: Pick<RiftRecord, 'total' | 'funded' | 'released' | 'refunded' | 'held'>;
  paymentIntentId: string | null;
};

export function riftStatus(r: Pick<RiftRecord, 'funded' | 'held' | 'released' | 'refunded' | 'disputeOpen'>): RiftStatus {
  if (r.funded === 0) return 'awaiting_funding';
  if (r.disputeOpen) return 'disputed';
  if (r.held > 0) return 'funded';
  if (r.released > 0 && r.refunded > 0) return 'closed';
  return r.refunded > 0 ? 'refunded' : 'completed';
}

// Views list their fields in the contract's order (DynamoDB maps come back in any order).
const milestoneView = (m: Milestone): Milestone => ({
  index: m.index,
  title: m.title,
  amount: m.amount,
  status: m.status,
  ...(m.releasedAt !== undefined ? { releasedAt: m.releasedAt } : {}),
  ...(m.transferId !== undefined ? { transferId: m.transferId } : {}),
});

export const disputeView = (d: Dispute): Dispute => ({
  disputeId: d.disputeId,
  status: d.status,
  reason: d.reason,
  openedBy: d.openedBy,
  source: d.source,
  openedAt: d.openedAt,
  ...(d.outcome !== undefined ? { outcome: d.outcome } : {}),
  ...(d.resolvedAt !== undefined ? { resolvedAt: d.resolvedAt } : {}),
  ...(d.stripeDisputeId !== undefined ? { stripeDisputeId: d.stripeDisputeId } : {}),
});

export function toRiftView(r: RiftRecord): RiftView {
  return {
    riftId: r.riftId,
    title: r.title,
    buyerId: r.buyerId,
    sellerId: r.sellerId,
    sellerAccountId: r.sellerAccountId,
    currency: r.currency,
    status: riftStatus(r),
    amounts: { total: r.total, funded: r.funded, released: r.released, refunded: r.refunded, held: r.held },
    milestones: r.milestones.map(milestoneView),
    paymentIntentId: r.paymentIntentId ?? null,
    dispute: r.dispute ? disputeView(r.dispute) : null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    version: r.version,
  };
}

/** The money invariant; true after every operation, under any interleaving and fault. */
export function invariantViolations(r: RiftRecord): string[] {
  const v: string[] = [];
  if (r.funded !== r.released + r.refunded + r.held) v.push(`funded ${r.funded} != released ${r.released} + refunded ${r.refunded} + held ${r.held}`);
  if (r.held < 0) v.push(`held ${r.held} < 0`);
  if (r.unreserved < 0 || r.unreserved > r.held) v.push(`unreserved ${r.unreserved} outside [0, held ${r.held}]`);
  if (r.funded !== 0 && r.funded !== r.total) v.push(`funded ${r.funded} is neither 0 nor total ${r.total}`);
  const releasedSum = r.milestones.filter((m) => m.status === 'released').reduce((s, m) => s + m.amount, 0);
  if (releasedSum !== r.released) v.push(`released milestones sum ${releasedSum} != released ${r.released}`);
  return v;
}

export interface NewRiftInput {
  title?: string;
  sellerId: string;
  sellerAccountId: string;
  currency: string;
  milestones: { title: string; amount: number }[];
}

export function newRift(input: NewRiftInput, buyerId: string, riftId: string, now: string): RiftRecord {
  if (input.sellerId === buyerId) {
    throw new RiftError('validation_error', 'the seller cannot be the buyer', { issues: [{ path: 'sellerId', message: 'must differ from the buyer' }] });
  }
  const total = input.milestones.reduce((s, m) => s + m.amount, 0);
  if (total > 99_999_999) {
    throw new RiftError('validation_error', 'the total of the milestones is over 99,999,999', { issues: [{ path: 'milestones', message: 'total must be at most 99999999' }] });
  }
  return {
    riftId,
    title: input.title ?? 'Untitled rift',
    buyerId,
    sellerId: input.sellerId,
    sellerAccountId: input.sellerAccountId,
    currency: input.currency,
    milestones: input.milestones.map((m, index) => ({ index, title: m.title, amount: m.amount, status: 'pending' })),
    total,
    funded: 0,
    released: 0,
    refunded: 0,
    held: 0,
    unreserved: 0,
    fundingAttempt: 0,
    dispute: null,
    disputeOpen: false,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

// ---- authorization -------------------------------------------------------------------------

export interface Actor {
  sub: string;
  isAdmin: boolean;
}
export type Action = 'view' | 'fund' | 'release' | 'refund' | 'openDispute' | 'resolveDispute';

const RIGHTS: Record<Action, { buyer: boolean; seller: boolean; admin: boolean }> = {
  view: { buyer: true, seller: true, admin: true },
  fund: { buyer: true, seller: false, admin: false },
  release: { buyer: true, seller: false, admin: true },
  refund: { buyer: false, seller: true, admin: true },
  openDispute: { buyer: true, seller: true, admin: false },
  resolveDispute: { buyer: false, seller: false, admin: true },
};

/** 404 for strangers (no existence leak), 403 for a party or admin without the right. */
export function authorize(r: RiftRecord | undefined, actor: Actor, action: Action): RiftRecord {
  const isBuyer = r?.buyerId === actor.sub;
  const isSeller = r?.sellerId === actor.sub;
  if (!r || (!isBuyer && !isSeller && !actor.isAdmin)) throw new RiftError('rift_not_found', 'no such rift');
  const right = RIGHTS[action];
  if ((isBuyer && right.buyer) || (isSeller && right.seller) || (actor.isAdmin && right.admin)) return r;
  throw new RiftError('forbidden', `you may not ${action.replace(/[A-Z]/g, (c) => ' ' + c.toLowerCase())} on this rift`);
}

/** `abc`, `-1`, `1.5`, `01`, and indexes past the end name no milestone. */
export function milestoneAt(r: RiftRecord, raw: string | undefined): Milestone {
  const ok = raw !== undefined && /^(0|[1-9]\d{0,2})$/.test(raw);
  const m = ok ? r.milestones[Number(raw)] : undefined;
  if (!m) throw new RiftError('milestone_not_found', `rift has no milestone ${String(raw).slice(0, 20)}`);
  return m;
}

// ---- business rules (409s), in the contract's order ------------------------------------------

export function checkFund(r: RiftRecord): void {
  if (r.funded > 0) throw new RiftError('rift_already_funded', 'the rift is already funded');
}

/**
 * What a release request meets. `inFlight` says whether a pending release of this milestone holds a
 * live lease ('live'), was abandoned (a 502 or a crash: 'stale', the request takes it over), or none.
 */
export function checkRelease(
  r: RiftRecord,
  m: Milestone,
  inFlight: 'none' | 'live' | 'stale',
  opts: { ignoreDispute?: boolean } = {},
): 'reserve' | 'resume' {
  if (r.funded === 0) throw new RiftError('rift_not_funded', 'the rift is not funded yet');
  if (r.disputeOpen && !opts.ignoreDispute) throw new RiftError('rift_disputed', 'a dispute is open: releases are frozen');
  if (m.status === 'released') throw new RiftError('milestone_already_released', `milestone ${m.index} is already released`);
  if (m.status === 'releasing') {
    if (inFlight === 'live') throw new RiftError('release_in_progress', `a release of milestone ${m.index} is in progress`);
    return 'resume';
  }
  if (r.held === 0) throw new RiftError('rift_closed', 'nothing is held on this rift');
  if (r.held < m.amount) throw new RiftError('insufficient_held_funds', `held ${r.held} is less than the milestone amount ${m.amount}`, { held: r.held, required: m.amount });
  if (r.unreserved < m.amount) {
    // Held money is claimed by a refund in flight; the answer is precise about why.
    throw new RiftError('insufficient_held_funds', `only ${r.unreserved} of the held ${r.held} is free: another release or a refund is in progress`, { held: r.held, required: m.amount });
  }
  return 'reserve';
}

/** Returns the refund amount: the requested one, or everything held. */
export function checkRefund(r: RiftRecord, amount: number | undefined, actor: Actor): number {
  if (r.funded === 0) throw new RiftError('rift_not_funded', 'the rift is not funded yet');
  if (r.disputeOpen && !actor.isAdmin) throw new RiftError('rift_disputed', 'a dispute is open: only an admin may refund');
  if (r.held === 0) throw new RiftError('nothing_to_refund', 'nothing is held on this rift');
  const want = amount ?? r.held;
  if (want > r.held) throw new RiftError('refund_exceeds_held', `the refund ${want} exceeds the held ${r.held}`, { held: r.held });
  if (want > r.unreserved) {
    throw new RiftError('release_in_progress', `only ${r.unreserved} of the held ${r.held} is free: a release or refund is in progress`, { held: r.held, free: r.unreserved });
  }
  return want;
}

export function checkOpenDispute(r: RiftRecord): void {
  if (r.funded === 0) throw new RiftError('rift_not_funded', 'the rift is not funded yet');
  if (r.held === 0) throw new RiftError('rift_closed', 'nothing is held on this rift');
  if (r.disputeOpen) throw new RiftError('dispute_already_open', 'a dispute is already open');
}

export function checkResolveDispute(r: RiftRecord): Dispute {
  if (!r.disputeOpen || !r.dispute) throw new RiftError('no_open_dispute', 'no dispute is open on this rift');
  return r.dispute;
}
