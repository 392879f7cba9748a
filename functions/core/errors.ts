/**
 * Typed domain errors. Every error the API can answer has a code from the contract;
 * the HTTP status is derived from the code in one place so handlers never pick statuses.
 */
export const ERROR_STATUS = {
  invalid_json: 400,
  validation_error: 400,
  idempotency_key_required: 400,
  invalid_signature: 400,
  unauthorized: 401,
  card_declined: 402,
  forbidden: 403,
  rift_not_found: 404,
  milestone_not_found: 404,
  not_found: 404,
  rift_not_funded: 409,
  rift_already_funded: 409,
  rift_disputed: 409,
  milestone_already_released: 409,
  release_in_progress: 409,
  refund_in_progress: 409,
  insufficient_held_funds: 409,
  nothing_to_refund: 409,
  refund_exceeds_held: 409,
  dispute_already_open: 409,
  no_open_dispute: 409,
  rift_closed: 409,
  insufficient_platform_balance: 409,
  idempotency_key_in_use: 409,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  internal_error: 500,
  not_implemented: 501,
  payment_provider_error: 502,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class RiftError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RiftError';
    this.status = ERROR_STATUS[code];
  }
}

export const isRiftError = (e: unknown): e is RiftError => e instanceof RiftError;
