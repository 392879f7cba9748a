/**
 * The pure rift domain: status derivation, the API view, the money invariant, newRift's limits,
 * authorization (404 strangers, 403 per the contract's "who" column), milestone indexes, and every
 * business rule in the contract's order. Plus a property test of the status/amount arithmetic.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ERROR_STATUS, RiftError } from '../../../functions/core/errors';
import {
  authorize,
  checkFund,
  checkOpenDispute,
  checkRefund,
  checkRelease,
  checkResolveDispute,
  invariantViolations,
  milestoneAt,
  newRift,
  riftStatus,
  toRiftView,
  type Action,
  type Actor,
  type Dispute,
  type RiftRecord,
} from '../../../functions/core/rift';

const NOW = '2026-01-01T00:00:00.000Z';
const BUYER: Actor = { sub: 'user_b', isAdmin: false };
const SELLER: Actor = { sub: 'user_s', isAdmin: false };
const ADMIN: Actor = { sub: 'user_admin', isAdmin: true };
const STRANGER: Actor = { sub: 'user_x', isAdmin: false };

const OPEN_DISPUTE: Dispute = { disputeId: 'dsp_1', status: 'open', reason: 'late', openedBy: 'user_b', source: 'party', openedAt: NOW };

/** A funded rift with milestones of 10,000 and 20,000 (held 30,000), then the overrides. */
function rift(over: Partial<RiftRecord> = {}): RiftRecord {
  const base = newRift(
    { sellerId: 'user_s', sellerAccountId: 'acct_1', currency: 'usd', milestones: [{ title: 'Design', amount: 10_000 }, { title: 'Build', amount: 20_000 }] },
    'user_b',
    'rift_1',
    NOW,
  );
  return { ...base, funded: 30_000, held: 30_000, unreserved: 30_000, paymentIntentId: 'pi_1', ...over };
}
const unfunded = (over: Partial<RiftRecord> = {}) => rift({ funded: 0, held: 0, unreserved: 0, paymentIntentId: undefined, ...over });
const withMilestone = (r: RiftRecord, i: number, status: 'pending' | 'releasing' | 'released') => ({
  ...r,
  milestones: r.milestones.map((m) => (m.index === i ? { ...m, status } : m)),
});
/** Milestone 0 released: released 10,000, held 20,000. */
const afterRelease0 = (over: Partial<RiftRecord> = {}) => ({ ...withMilestone(rift(), 0, 'released'), released: 10_000, held: 20_000, unreserved: 20_000, ...over });

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(RiftError);
    return (e as RiftError).code;
  }
}
function errorOf(f: () => unknown): RiftError {
  try {
    f();
  } catch (e) {
    if (e instanceof RiftError) return e;
    throw e;
  }
  throw new Error('expected a RiftError');
}

describe('errors', () => {
  // The contract's error table: every code and its status.
  const CONTRACT: Record<string, number> = {
    invalid_json: 400, validation_error: 400, idempotency_key_required: 400, invalid_signature: 400,
    unauthorized: 401, card_declined: 402, forbidden: 403,
    rift_not_found: 404, milestone_not_found: 404, not_found: 404,
    rift_not_funded: 409, rift_already_funded: 409, rift_disputed: 409, milestone_already_released: 409, release_in_progress: 409,
    insufficient_held_funds: 409, nothing_to_refund: 409, refund_exceeds_held: 409, dispute_already_open: 409, no_open_dispute: 409,
    rift_closed: 409, insufficient_platform_balance: 409, idempotency_key_in_use: 409,
    payload_too_large: 413, idempotency_key_reused: 422, payment_provider_error: 502,
  };
  it.each(Object.entries(CONTRACT))('%s is %i', (code, status) => {
    expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS]).toBe(status);
    const e = new RiftError(code as keyof typeof ERROR_STATUS, 'm', { a: 1 });
    expect(e.status).toBe(status);
    expect(e.details).toEqual({ a: 1 });
  });
});

describe('riftStatus', () => {
  it.each([
    ['awaiting_funding', { funded: 0, held: 0, released: 0, refunded: 0, disputeOpen: false }],
    ['awaiting_funding', { funded: 0, held: 0, released: 0, refunded: 0, disputeOpen: true }],
    ['funded', { funded: 300, held: 300, released: 0, refunded: 0, disputeOpen: false }],
    ['funded', { funded: 300, held: 100, released: 100, refunded: 100, disputeOpen: false }],
    ['disputed', { funded: 300, held: 300, released: 0, refunded: 0, disputeOpen: true }],
    // a dispute stays open (and the rift disputed) even when an admin refund leaves nothing held
    ['disputed', { funded: 300, held: 0, released: 0, refunded: 300, disputeOpen: true }],
    ['completed', { funded: 300, held: 0, released: 300, refunded: 0, disputeOpen: false }],
    ['refunded', { funded: 300, held: 0, released: 0, refunded: 300, disputeOpen: false }],
    ['closed', { funded: 300, held: 0, released: 100, refunded: 200, disputeOpen: false }],
  ] as const)('%s for %j', (status, r) => {
    expect(riftStatus(r)).toBe(status);
  });
});

describe('toRiftView', () => {
  it('has exactly the contract fields, amounts grouped, internal bookkeeping hidden', () => {
    const r = afterRelease0({ dispute: OPEN_DISPUTE, disputeOpen: true, version: 4 });
    const v = toRiftView(r);
    expect(Object.keys(v).sort()).toEqual(
      ['amounts', 'buyerId', 'createdAt', 'currency', 'dispute', 'milestones', 'paymentIntentId', 'riftId', 'sellerAccountId', 'sellerId', 'status', 'title', 'updatedAt', 'version'].sort(),
    );
    expect(v.amounts).toEqual({ total: 30_000, funded: 30_000, released: 10_000, refunded: 0, held: 20_000 });
    expect(v.status).toBe('disputed');
    expect(v.dispute).toEqual(OPEN_DISPUTE);
    expect(v.version).toBe(4);
    expect(v).not.toHaveProperty('unreserved');
    expect(v).not.toHaveProperty('fundingAttempt');
    expect(v).not.toHaveProperty('disputeOpen');
  });

  it('paymentIntentId is null before funding and the view is a copy', () => {
    const r = unfunded();
    const v = toRiftView(r);
    expect(v.paymentIntentId).toBeNull();
    expect(v.status).toBe('awaiting_funding');
    v.milestones[0]!.status = 'released';
    expect(r.milestones[0]!.status).toBe('pending');
  });
});

describe('invariantViolations', () => {
  it('none for valid rifts', () => {
    expect(invariantViolations(rift())).toEqual([]);
    expect(invariantViolations(unfunded())).toEqual([]);
    expect(invariantViolations(afterRelease0())).toEqual([]);
    expect(invariantViolations(afterRelease0({ refunded: 5_000, held: 15_000, unreserved: 0 }))).toEqual([]);
  });

  it.each([
    ['funded != released + refunded + held', { held: 29_999, unreserved: 29_999 }, /funded 30000 != released 0 \+ refunded 0 \+ held 29999/],
    ['held < 0', { funded: 30_000, released: 30_000, refunded: 10_000, held: -10_000, unreserved: -10_000 }, /held -10000 < 0/],
    ['unreserved < 0', { unreserved: -1 }, /unreserved -1 outside/],
    ['unreserved > held', { unreserved: 30_001 }, /unreserved 30001 outside/],
    ['funded neither 0 nor total', { funded: 100, held: 100, unreserved: 100 }, /funded 100 is neither 0 nor total 30000/],
    ['released milestones do not sum to released', { released: 10_000, held: 20_000, unreserved: 20_000 }, /released milestones sum 0 != released 10000/],
  ] as const)('%s', (_name, over, message) => {
    const v = invariantViolations(rift(over));
    expect(v.length).toBeGreaterThan(0);
    expect(v.join('; ')).toMatch(message);
  });
});

describe('newRift', () => {
  const input = { sellerId: 'user_s', sellerAccountId: 'acct_1', currency: 'usd', milestones: [{ title: 'A', amount: 1 }, { title: 'B', amount: 2 }] };

  it('builds an unfunded rift with indexed pending milestones', () => {
    const r = newRift({ ...input, title: 'Logo' }, 'user_b', 'rift_9', NOW);
    expect(r).toMatchObject({
      riftId: 'rift_9', title: 'Logo', buyerId: 'user_b', sellerId: 'user_s', sellerAccountId: 'acct_1', currency: 'usd',
      total: 3, funded: 0, released: 0, refunded: 0, held: 0, unreserved: 0, dispute: null, disputeOpen: false,
      createdAt: NOW, updatedAt: NOW, version: 1, fundingAttempt: 0,
    });
    expect(r.milestones).toEqual([
      { index: 0, title: 'A', amount: 1, status: 'pending' },
      { index: 1, title: 'B', amount: 2, status: 'pending' },
    ]);
    expect(riftStatus(r)).toBe('awaiting_funding');
    expect(invariantViolations(r)).toEqual([]);
  });

  it('gives an untitled rift a title', () => {
    expect(newRift(input, 'user_b', 'rift_9', NOW).title.length).toBeGreaterThan(0);
  });

  it('seller = buyer is a validation_error on sellerId', () => {
    const e = errorOf(() => newRift(input, 'user_s', 'rift_9', NOW));
    expect(e.code).toBe('validation_error');
    expect(e.status).toBe(400);
    expect((e.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['sellerId']);
  });

  it('a total of 99,999,999 is fine; one more is a validation_error', () => {
    const max = newRift({ ...input, milestones: [{ title: 'A', amount: 99_999_998 }, { title: 'B', amount: 1 }] }, 'user_b', 'rift_9', NOW);
    expect(max.total).toBe(99_999_999);
    const e = errorOf(() => newRift({ ...input, milestones: [{ title: 'A', amount: 99_999_999 }, { title: 'B', amount: 1 }] }, 'user_b', 'rift_9', NOW));
    expect(e.code).toBe('validation_error');
    expect((e.details as { issues: { path: string }[] }).issues[0]!.path).toBe('milestones');
  });
});

describe('authorize', () => {
  // The contract's "who" column. Strangers always 404; admins may view, release, refund, resolve.
  const WHO: Record<Action, { buyer: boolean; seller: boolean; admin: boolean }> = {
    view: { buyer: true, seller: true, admin: true },
    fund: { buyer: true, seller: false, admin: false },
    release: { buyer: true, seller: false, admin: true },
    refund: { buyer: false, seller: true, admin: true },
    openDispute: { buyer: true, seller: true, admin: false },
    resolveDispute: { buyer: false, seller: false, admin: true },
  };
  const cases = (Object.keys(WHO) as Action[]).flatMap((action) =>
    (['buyer', 'seller', 'admin'] as const).map((who) => [action, who, WHO[action][who]] as const),
  );
  const actorOf = { buyer: BUYER, seller: SELLER, admin: ADMIN };

  it.each(cases)('%s by the %s: allowed=%s', (action, who, allowed) => {
    const r = rift();
    if (allowed) expect(authorize(r, actorOf[who], action)).toBe(r);
    else expect(codeOf(() => authorize(r, actorOf[who], action))).toBe('forbidden');
  });

  it.each(Object.keys(WHO) as Action[])('%s by a stranger is rift_not_found (no existence leak)', (action) => {
    expect(codeOf(() => authorize(rift(), STRANGER, action))).toBe('rift_not_found');
  });

  it.each(Object.keys(WHO) as Action[])('%s of an unknown rift is rift_not_found, even for an admin', (action) => {
    expect(codeOf(() => authorize(undefined, ADMIN, action))).toBe('rift_not_found');
    expect(codeOf(() => authorize(undefined, BUYER, action))).toBe('rift_not_found');
  });

  it('an admin who is also the buyer has both rights (fund as buyer, release as either)', () => {
    const r = rift({ buyerId: 'user_admin' });
    expect(authorize(r, ADMIN, 'fund')).toBe(r);
    expect(authorize(r, ADMIN, 'openDispute')).toBe(r);
    expect(authorize(r, ADMIN, 'refund')).toBe(r);
  });
});

describe('milestoneAt', () => {
  const r = rift();
  it.each(['0', '1'])('%s names a milestone', (raw) => {
    expect(milestoneAt(r, raw).index).toBe(Number(raw));
  });
  it.each(['abc', '-1', '1.5', '2', '99', '01', '1e0', ' 1', '', '0x1', '1000', 'NaN', undefined])('%j is milestone_not_found', (raw) => {
    expect(codeOf(() => milestoneAt(r, raw))).toBe('milestone_not_found');
  });
});

describe('checkFund', () => {
  it('passes unfunded, refuses funded', () => {
    expect(() => checkFund(unfunded())).not.toThrow();
    expect(codeOf(() => checkFund(rift()))).toBe('rift_already_funded');
    expect(codeOf(() => checkFund(afterRelease0({ released: 30_000, held: 0, unreserved: 0 })))).toBe('rift_already_funded');
  });
});

describe('checkRelease (contract order: not funded, disputed, released, in progress, closed, insufficient held)', () => {
  const m = (r: RiftRecord, i = 0) => r.milestones[i]!;
  const disputed = (r: RiftRecord) => ({ ...r, dispute: OPEN_DISPUTE, disputeOpen: true });

  it.each([
    ['rift_not_funded', () => disputed(unfunded())],
    ['rift_disputed', () => disputed(afterRelease0())], // the milestone is released too: the dispute comes first
    ['milestone_already_released', () => afterRelease0({ held: 0, unreserved: 0, refunded: 20_000 })], // closed too
    ['rift_closed', () => rift({ held: 0, unreserved: 0, refunded: 30_000 })],
    ['insufficient_held_funds', () => rift({ held: 5_000, unreserved: 5_000, refunded: 25_000 })],
  ] as const)('%s', (code, make) => {
    const r = make();
    expect(codeOf(() => checkRelease(r, m(r), 'none'))).toBe(code);
  });

  it('release_in_progress for a releasing milestone with a live lease, before rift_closed', () => {
    const r = withMilestone(rift({ held: 0, unreserved: 0, refunded: 30_000 }), 0, 'releasing');
    expect(codeOf(() => checkRelease(r, m(r), 'live'))).toBe('release_in_progress');
  });

  it('an abandoned (stale or missing lease) release is resumed, not reserved again', () => {
    const r = withMilestone(rift({ unreserved: 20_000 }), 0, 'releasing');
    expect(checkRelease(r, m(r), 'stale')).toBe('resume');
    expect(checkRelease(r, m(r), 'none')).toBe('resume');
  });

  it('a dispute freezes even the resumption; a dispute resolution may ignore it', () => {
    const r = disputed(withMilestone(rift({ unreserved: 20_000 }), 0, 'releasing'));
    expect(codeOf(() => checkRelease(r, m(r), 'stale'))).toBe('rift_disputed');
    expect(checkRelease(r, m(r), 'stale', { ignoreDispute: true })).toBe('resume');
    expect(checkRelease(disputed(rift()), m(rift(), 1), 'none', { ignoreDispute: true })).toBe('reserve');
  });

  it('insufficient_held_funds carries held and required', () => {
    const r = rift({ held: 5_000, unreserved: 5_000, refunded: 25_000 });
    const e = errorOf(() => checkRelease(r, m(r), 'none'));
    expect(e.details).toMatchObject({ held: 5_000, required: 10_000 });
  });

  it('held money claimed by a refund in flight is not free', () => {
    const r = rift({ unreserved: 5_000 });
    expect(codeOf(() => checkRelease(r, m(r), 'none'))).toBe('insufficient_held_funds');
  });

  it('reserve when everything holds, also for exactly the held amount', () => {
    expect(checkRelease(rift(), m(rift()), 'none')).toBe('reserve');
    const exact = rift({ held: 10_000, unreserved: 10_000, refunded: 20_000 });
    expect(checkRelease(exact, m(exact), 'none')).toBe('reserve');
  });
});

describe('checkRefund (contract order: not funded, disputed unless admin, nothing held, exceeds held)', () => {
  const disputed = (r: RiftRecord) => ({ ...r, dispute: OPEN_DISPUTE, disputeOpen: true });
  const closed = () => afterRelease0({ released: 30_000, held: 0, unreserved: 0, milestones: rift().milestones.map((x) => ({ ...x, status: 'released' as const })) });

  it.each([
    ['rift_not_funded', () => disputed(unfunded()), SELLER, 1],
    ['rift_not_funded', () => unfunded(), ADMIN, undefined],
    ['rift_disputed', () => disputed(closed()), SELLER, 1], // nothing held too: the dispute comes first
    ['nothing_to_refund', () => closed(), SELLER, 1], // exceeds too: nothing held comes first
    ['nothing_to_refund', () => disputed(closed()), ADMIN, undefined],
    ['refund_exceeds_held', () => afterRelease0(), SELLER, 30_000],
    ['refund_exceeds_held', () => disputed(afterRelease0()), ADMIN, 20_001],
  ] as const)('%s', (code, make, actor, amount) => {
    expect(codeOf(() => checkRefund(make(), amount, actor))).toBe(code);
  });

  it('refund_exceeds_held names what is held', () => {
    const e = errorOf(() => checkRefund(afterRelease0(), 30_000, SELLER));
    expect(e.details).toEqual({ held: 20_000 });
  });

  it('no amount refunds everything held; an amount up to held is itself', () => {
    expect(checkRefund(afterRelease0(), undefined, SELLER)).toBe(20_000);
    expect(checkRefund(afterRelease0(), 20_000, SELLER)).toBe(20_000);
    expect(checkRefund(afterRelease0(), 1, SELLER)).toBe(1);
  });

  it('an admin may refund while a dispute is open', () => {
    expect(checkRefund(disputed(rift()), undefined, ADMIN)).toBe(30_000);
  });

  it('money claimed by a pending release is not refundable meanwhile', () => {
    const r = withMilestone(rift({ unreserved: 20_000 }), 0, 'releasing');
    expect(checkRefund(r, 20_000, SELLER)).toBe(20_000);
    expect(codeOf(() => checkRefund(r, 20_001, SELLER))).toBe('release_in_progress');
    expect(codeOf(() => checkRefund(r, undefined, SELLER))).toBe('release_in_progress');
  });
});

describe('checkOpenDispute (contract order: not funded, nothing held, already open)', () => {
  const disputed = (r: RiftRecord) => ({ ...r, dispute: OPEN_DISPUTE, disputeOpen: true });
  it.each([
    ['rift_not_funded', () => disputed(unfunded())],
    ['rift_closed', () => disputed(rift({ held: 0, unreserved: 0, refunded: 30_000 }))],
    ['dispute_already_open', () => disputed(rift())],
  ] as const)('%s', (code, make) => {
    expect(codeOf(() => checkOpenDispute(make()))).toBe(code);
  });
  it('passes a funded rift with money held, also after a resolved dispute', () => {
    expect(() => checkOpenDispute(rift())).not.toThrow();
    expect(() => checkOpenDispute(afterRelease0({ dispute: { ...OPEN_DISPUTE, status: 'resolved', outcome: 'dismiss' } }))).not.toThrow();
  });
});

describe('checkResolveDispute', () => {
  it('returns the open dispute', () => {
    expect(checkResolveDispute({ ...rift(), dispute: OPEN_DISPUTE, disputeOpen: true })).toEqual(OPEN_DISPUTE);
  });
  it.each([
    ['none ever', () => rift()],
    ['a resolved one', () => rift({ dispute: { ...OPEN_DISPUTE, status: 'resolved', outcome: 'dismiss' }, disputeOpen: false })],
  ])('no_open_dispute with %s', (_n, make) => {
    expect(codeOf(() => checkResolveDispute(make()))).toBe('no_open_dispute');
  });
});

describe('property: the rules keep the money invariant', () => {
  type Op = { kind: 'release'; index: number } | { kind: 'refund'; amount?: number; admin: boolean } | { kind: 'open' } | { kind: 'resolve' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('release' as const), index: fc.nat(5) }),
    fc.record({ kind: fc.constant('refund' as const), amount: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }), admin: fc.boolean() }),
    fc.record({ kind: fc.constant('open' as const) }),
    fc.record({ kind: fc.constant('resolve' as const) }),
  );

  /** Applies an operation the way the saga does when the rules allow it (reserve + complete). */
  function apply(r: RiftRecord, o: Op): RiftRecord {
    if (o.kind === 'release') {
      const m = milestoneAt(r, String(o.index));
      checkRelease(r, m, 'none');
      return {
        ...withMilestone(r, m.index, 'released'),
        released: r.released + m.amount,
        held: r.held - m.amount,
        unreserved: r.unreserved - m.amount,
      };
    }
    if (o.kind === 'refund') {
      const amount = checkRefund(r, o.amount, o.admin ? ADMIN : SELLER);
      return { ...r, refunded: r.refunded + amount, held: r.held - amount, unreserved: r.unreserved - amount };
    }
    if (o.kind === 'open') {
      checkOpenDispute(r);
      return { ...r, dispute: OPEN_DISPUTE, disputeOpen: true };
    }
    checkResolveDispute(r);
    return { ...r, dispute: { ...OPEN_DISPUTE, status: 'resolved', outcome: 'dismiss' }, disputeOpen: false };
  }

  it('any sequence: invariant holds, status agrees with the amounts, refused operations change nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 6 }), fc.array(op, { maxLength: 30 }), (amounts, ops) => {
        let r: RiftRecord = newRift(
          { sellerId: 'user_s', sellerAccountId: 'acct_1', currency: 'usd', milestones: amounts.map((amount, i) => ({ title: `m${i}`, amount })) },
          'user_b',
          'rift_p',
          NOW,
        );
        r = { ...r, funded: r.total, held: r.total, unreserved: r.total };
        for (const o of ops) {
          const before = r;
          try {
            r = apply(r, o);
          } catch (e) {
            expect(e).toBeInstanceOf(RiftError);
            expect([404, 409]).toContain((e as RiftError).status);
            expect(r).toBe(before);
          }
          expect(invariantViolations(r)).toEqual([]);
          const s = riftStatus(r);
          if (r.disputeOpen) expect(s).toBe('disputed');
          else if (r.held > 0) expect(s).toBe('funded');
          else expect(s).toBe(r.released > 0 && r.refunded > 0 ? 'closed' : r.released > 0 ? 'completed' : 'refunded');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('views list fields in the contract order, whatever order DynamoDB returned', () => {
  it('milestones and the dispute', () => {
    const r = newRift({ sellerId: 's', sellerAccountId: 'acct_1', currency: 'usd', milestones: [{ title: 'A', amount: 100 }] }, 'b', 'rift_x', '2026-01-01T00:00:00.000Z');
    const shuffled = {
      ...r,
      milestones: [{ transferId: 'tr_1', status: 'released' as const, amount: 100, releasedAt: 't', title: 'A', index: 0 }],
      dispute: { resolvedAt: 't2', outcome: 'dismiss' as const, source: 'party' as const, reason: 'late', openedAt: 't1', status: 'resolved' as const, openedBy: 'b', disputeId: 'dsp_1' },
    };
    const v = toRiftView(shuffled);
    expect(Object.keys(v.milestones[0]!)).toEqual(['index', 'title', 'amount', 'status', 'releasedAt', 'transferId']);
    expect(Object.keys(v.dispute!)).toEqual(['disputeId', 'status', 'reason', 'openedBy', 'source', 'openedAt', 'outcome', 'resolvedAt']);
  });
});
