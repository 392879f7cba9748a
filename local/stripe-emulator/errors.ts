/**
 * Stripe's error shape and HTTP statuses, which the SDK turns into its classes:
 * 400/404 -> StripeInvalidRequestError (StripeIdempotencyError when type is idempotency_error),
 * 401 -> StripeAuthenticationError, 402 -> StripeCardError, other -> StripeAPIError.
 */
export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  doc_url?: string;
  payment_intent?: unknown;
  charge?: string;
  request_log_url?: string;
}

export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    /** Set on requests refused before any work (bad params): Stripe saves no idempotent result. */
    readonly saveIdempotent = true,
  ) {
    super(body.message);
  }
}

const docUrl = (code: string) => `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;

export function invalidRequest(code: string | undefined, message: string, param?: string, status = 400): StripeApiError {
  return new StripeApiError(status, {
    type: 'invalid_request_error',
    message,
    ...(code ? { code, doc_url: docUrl(code) } : {}),
    ...(param ? { param } : {}),
  });
}

/** A bad or missing parameter: refused before any work, so not saved under the idempotency key. */
export function paramError(code: 'parameter_missing' | 'parameter_invalid_integer' | 'parameter_invalid_empty' | 'parameter_unknown' | 'invalid_request', message: string, param: string): StripeApiError {
  return new StripeApiError(400, { type: 'invalid_request_error', code, message, param, doc_url: docUrl(code) }, false);
}

export function missing(resource: string, id: string, param?: string): StripeApiError {
  return invalidRequest('resource_missing', `No such ${resource}: '${id}'`, param ?? 'id', param ? 400 : 404);
}

export function apiError(message = 'An unknown error occurred'): StripeApiError {
  return new StripeApiError(500, { type: 'api_error', message });
}
