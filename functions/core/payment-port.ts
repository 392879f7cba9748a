/**
 * The port to the payment provider. The saga speaks to this interface only;
 * `adapters/stripe-gateway.ts` implements it with the real Stripe SDK.
 */
export interface BalanceEntry {
  currency: string;
  available: number;
  pending: number;
}

export interface PaymentIntentResult {
  id: string;
  status: string;
  amount: number;
  currency: string;
}

export interface PaymentGateway {
  /** Platform balance per currency (available and pending, minor units). */
  getBalance(): Promise<BalanceEntry[]>;
  createAndConfirmPayment(p: {
    amount: number;
    currency: string;
    paymentMethodId: string;
    riftId: string;
    /** Recorded in metadata so the webhook path knows which client request paid. */
    fundKey?: string;
    idempotencyKey: string;
  }): Promise<PaymentIntentResult>;
  getPaymentIntent(id: string): Promise<PaymentIntentResult>;
  createTransfer(p: {
    amount: number;
    currency: string;
    destination: string;
    riftId: string;
    milestoneIndex: number;
    releaseId: string;
    idempotencyKey: string;
  }): Promise<{ id: string }>;
  /** Finds a transfer already made for this release (Stripe forgets idempotency keys after 24 h). */
  findTransfer(riftId: string, releaseId: string): Promise<{ id: string; amount: number } | null>;
  createRefund(p: {
    paymentIntentId: string;
    amount: number;
    riftId: string;
    refundId: string;
    idempotencyKey: string;
  }): Promise<{ id: string }>;
  findRefund(paymentIntentId: string, refundId: string): Promise<{ id: string; amount: number } | null>;
}

/**
 * What the provider said, reduced to what the saga must decide on:
 * - `declined`: a card decline (402) — a definite no.
 * - `rejected`: the request was refused (4xx such as `balance_insufficient`) — a definite no.
 * - `unavailable`: no answer, a timeout, a 5xx, a lock: the outcome is unknown; retry with the same key.
 */
export class PaymentProviderError extends Error {
  constructor(
    readonly kind: 'declined' | 'rejected' | 'unavailable',
    readonly providerCode: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'PaymentProviderError';
  }
}
