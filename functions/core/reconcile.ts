/**
 * The reconciler's use case: finish every money intent that was left pending and is not in flight
 * (its request answered 502, or crashed and its lease lapsed). It asks Stripe with the same
 * idempotency key (or, past Stripe's 24 h key memory, looks the object up by transfer_group and
 * metadata) and completes or voids. Safe to run twice at once: each intent is taken over with a
 * conditional write on the lease it saw, so only one worker drives it.
 */
import { RiftError } from './errors';
import { driveIntent, intentKey, type EscrowDeps } from './escrow';
import type { MoneyIntent } from './ports';

export interface ReconcileReport {
  examined: number;
  completed: number;
  voided: number;
  stillPending: number;
  skippedInFlight: number;
  items: { kind: MoneyIntent['kind']; id: string; riftId: string; outcome: 'completed' | 'voided' | 'pending' | 'in_flight' | 'gone' }[];
}

export async function reconcilePending(deps: EscrowDeps, opts: { graceMs?: number; limit?: number } = {}): Promise<ReconcileReport> {
  const now = deps.clock.now().getTime();
  const before = new Date(now - (opts.graceMs ?? 0)).toISOString() + '\uffff';
  const candidates = await deps.store.listPendingIntents(before, opts.limit ?? 100);
  const report: ReconcileReport = { examined: candidates.length, completed: 0, voided: 0, stillPending: 0, skippedInFlight: 0, items: [] };
  for (const seen of candidates) {
    const item = (outcome: ReconcileReport['items'][number]['outcome']) => report.items.push({ kind: seen.kind, id: seen.id, riftId: seen.riftId, outcome });
    // The index is eventually consistent: decide on a consistent read of the intent itself.
    const fresh = await deps.store.getIntent(seen.kind, seen.riftId, intentKey(seen));
    if (!fresh || fresh.status !== 'pending') {
      item('gone');
      continue;
    }
    if (fresh.leaseUntil > deps.clock.now().getTime()) {
      report.skippedInFlight++;
      item('in_flight');
      continue;
    }
    const leaseUntil = deps.clock.now().getTime() + deps.leaseMs;
    if (!(await deps.store.takeOver(fresh, leaseUntil))) {
      report.skippedInFlight++;
      item('in_flight');
      continue;
    }
    const intent = { ...fresh, leaseUntil };
    try {
      if (intent.kind === 'release' && !intent.ignoreDispute) {
        // A release that started before a dispute opened: finish it only if Stripe already moved the
        // money; otherwise void it, since releases are frozen while the dispute is open.
        const rift = await deps.store.getRift(intent.riftId);
        if (rift?.disputeOpen) {
          const found = await deps.gateway.findTransfer(intent.riftId, intent.id);
          if (!found && (fresh.settleAfter ?? 0) > deps.clock.now().getTime()) {
            // A transfer request sent for it may still land (its client gave up, Stripe may not have):
            // voiding now could leave a transfer with no record, and a later release would pay twice.
            await deps.store.endLease(intent);
            report.stillPending++;
            item('pending');
            continue;
          }
          if (!found) {
            await deps.store.voidIntent(intent, deps.clock.now().toISOString(), {
              eventId: deps.ids.next('evt'),
              type: 'release.failed',
              at: deps.clock.now().toISOString(),
              actor: 'system',
              amount: intent.amount,
              milestoneIndex: intent.milestoneIndex,
              details: { reason: 'rift_disputed', message: 'voided by the reconciler: a dispute opened before the transfer was made' },
            });
            report.voided++;
            item('voided');
            continue;
          }
        }
      }
      await driveIntent(deps, intent, 'system');
      report.completed++;
      item('completed');
    } catch (e) {
      if (e instanceof RiftError && e.code === 'payment_provider_error' && !e.details?.voided) {
        report.stillPending++;
        item('pending');
      } else if (e instanceof RiftError) {
        report.voided++;
        item('voided');
      } else {
        await deps.store.endLease(intent).catch(() => undefined);
        throw e;
      }
    }
  }
  return report;
}
