import type { MoneyIntent } from '../core/ports';

/**
 * Test-only fault injection in the adapter layer: a "crash" between the Stripe call and the
 * completing write. Armed in-process by tests, or locally through `RIFT_FAULTS=1` and the local
 * stack's control endpoint; never armed in AWS (nothing calls `armCrash` there).
 */
const armed = new Map<MoneyIntent['kind'], number>();

export function armCrash(kind: MoneyIntent['kind'], times = 1): void {
  armed.set(kind, (armed.get(kind) ?? 0) + times);
}

export function disarmAll(): void {
  armed.clear();
}

export function consumeCrash(intent: MoneyIntent): boolean {
  const n = armed.get(intent.kind) ?? 0;
  if (n <= 0) return false;
  armed.set(intent.kind, n - 1);
  return true;
}
