/**
 * Escrow use cases over fake ports, with a clock that ticks on every read: what a use case answers
 * must be what the store wrote (the store writes the audit event's time as the rift's updatedAt).
 */
import { describe, expect, it } from 'vitest';
import { fundRift, openDispute, type EscrowDeps } from '../../../functions/core/escrow';
import { newRift, type RiftRecord } from '../../../functions/core/rift';
import type { AuditEvent, FundInput, RiftStore } from '../../../functions/core/ports';
import type { PaymentGateway } from '../../../functions/core/payment-port';
import { RiftError } from '../../../functions/core/errors';

function tickingClock(start = Date.parse('2026-01-01T00:00:00.000Z')) {
  let t = start;
  return { now: () => new Date((t += 7)) };
}

function setup(rift: RiftRecord) {
  const writes: { kind: string; event: AuditEvent; extra?: unknown }[] = [];
  const store = {
    async fundRift(p: FundInput) {
      writes.push({ kind: 'fund', event: p.event });
      return { applied: true };
    },
    async openDispute(_riftId: string, dispute: unknown, event: AuditEvent) {
      writes.push({ kind: 'dispute', event, extra: dispute });
      return { ok: true as const };
    },
    async getRift() {
      return rift;
    },
  } as unknown as RiftStore;
  const gateway = {
    async createAndConfirmPayment(p: { amount: number; currency: string }) {
      return { id: 'pi_1', status: 'succeeded', amount: p.amount, currency: p.currency };
    },
  } as unknown as PaymentGateway;
  let n = 0;
  const deps: EscrowDeps = { store, gateway, clock: tickingClock(), ids: { next: (p) => `${p}_${++n}`, derive: (p) => `${p}_d` }, leaseMs: 1000 };
  return { deps, writes };
}

const base = () =>
  newRift({ sellerId: 'user_s', sellerAccountId: 'acct_1', currency: 'usd', milestones: [{ title: 'A', amount: 500 }] }, 'user_b', 'rift_1', '2025-12-31T00:00:00.000Z');

describe('fundRift', () => {
  it('answers the rift as stored: updatedAt is the rift.funded event time, amounts all held', async () => {
    const { deps, writes } = setup(base());
    const out = await fundRift(deps, base(), 'pm_card_visa', { sub: 'user_b', isAdmin: false });
    expect(writes.map((w) => w.kind)).toEqual(['fund']);
    expect(out.updatedAt).toBe(writes[0]!.event.at);
    expect(out).toMatchObject({ funded: 500, held: 500, unreserved: 500, paymentIntentId: 'pi_1', version: 2 });
    expect(writes[0]!.event).toMatchObject({ type: 'rift.funded', amount: 500, stripeId: 'pi_1', actor: 'user_b' });
  });

  it('refuses a funded rift before calling Stripe', async () => {
    const r = { ...base(), funded: 500, held: 500, unreserved: 500 };
    const { deps, writes } = setup(r);
    await expect(fundRift(deps, r, 'pm_card_visa', { sub: 'user_b', isAdmin: false })).rejects.toMatchObject({ code: 'rift_already_funded' });
    expect(writes).toEqual([]);
  });
});

describe('openDispute', () => {
  it('one time for the dispute, its event and the answered updatedAt', async () => {
    const r = { ...base(), funded: 500, held: 500, unreserved: 500 };
    const { deps, writes } = setup(r);
    const out = await openDispute(deps, r, { reason: 'late', source: 'party', openedBy: 'user_b' });
    expect(writes.map((w) => w.kind)).toEqual(['dispute']);
    expect(out.dispute.openedAt).toBe(writes[0]!.event.at);
    expect(out.rift.updatedAt).toBe(writes[0]!.event.at);
    expect(out.rift).toMatchObject({ disputeOpen: true, version: 2, dispute: out.dispute });
    expect(writes[0]!.event).toMatchObject({ type: 'dispute.opened', actor: 'user_b', details: { disputeId: out.dispute.disputeId, source: 'party' } });
  });

  it('refuses with the rule error before writing', async () => {
    const { deps, writes } = setup(base());
    await expect(openDispute(deps, base(), { reason: 'late', source: 'party', openedBy: 'user_b' })).rejects.toBeInstanceOf(RiftError);
    expect(writes).toEqual([]);
  });
});
