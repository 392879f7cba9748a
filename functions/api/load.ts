/** Shared steps of the rift routes, in the contract's order of checks: 404 → 403 → 404 milestone. */
import { RiftError } from '../core/errors';
import { authorize, type Action, type RiftRecord } from '../core/rift';
import { requireCaller, type HttpRequest } from '../http';
import type { Deps } from './deps';

const RIFT_ID = /^rift_[0-9a-z]{1,64}$/;

export async function loadRiftFor(deps: Deps, req: HttpRequest, action: Action): Promise<RiftRecord> {
  const caller = requireCaller(req);
  const riftId = req.pathParameters.riftId ?? '';
  // An id that cannot exist is "not found" without a database call (no existence leak either way).
  const rift = RIFT_ID.test(riftId) ? await deps.store.getRift(riftId) : undefined;
  req.logger.appendKeys({ riftId: rift?.riftId });
  return authorize(rift, caller, action);
}

export function requireRefundKey(req: HttpRequest): string {
  const key = req.idempotencyKey();
  if (!key) throw new RiftError('idempotency_key_required', 'POST …/refunds requires an Idempotency-Key header');
  return key;
}
