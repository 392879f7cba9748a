/** In-memory objects and the balance ledger. Everything resets with `reset()`. */
export type Json = Record<string, unknown>;
export type Metadata = Record<string, string>;

export const DEFAULT_CURRENCIES = ['usd', 'cad', 'eur', 'gbp'] as const;
export const DEFAULT_AVAILABLE = 1_000_000;

export interface Balance {
  available: number;
  pending: number;
}

export interface PaymentIntent extends Json {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  status: 'requires_payment_method' | 'requires_confirmation' | 'succeeded' | 'canceled';
  payment_method: string | null;
  latest_charge: string | null;
  metadata: Metadata;
  transfer_group: string | null;
}

export interface Charge extends Json {
  id: string;
  object: 'charge';
  amount: number;
  amount_refunded: number;
  currency: string;
  payment_intent: string;
  refunded: boolean;
  disputed: boolean;
}

export interface Transfer extends Json {
  id: string;
  object: 'transfer';
  amount: number;
  currency: string;
  destination: string;
  transfer_group: string | null;
  metadata: Metadata;
  created: number;
}

export interface Refund extends Json {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  charge: string;
  payment_intent: string;
  metadata: Metadata;
  created: number;
}

export interface Account extends Json {
  id: string;
  object: 'account';
  metadata: Metadata;
}

export interface Dispute extends Json {
  id: string;
  object: 'dispute';
  amount: number;
  charge: string;
  payment_intent: string;
}

export class Store {
  balances = new Map<string, Balance>();
  accounts = new Map<string, Account>();
  paymentIntents = new Map<string, PaymentIntent>();
  charges = new Map<string, Charge>();
  transfers = new Map<string, Transfer>();
  refunds = new Map<string, Refund>();
  disputes = new Map<string, Dispute>();

  constructor() {
    this.reset();
  }

  reset(): void {
    for (const map of [this.balances, this.accounts, this.paymentIntents, this.charges, this.transfers, this.refunds, this.disputes]) map.clear();
    for (const c of DEFAULT_CURRENCIES) this.balances.set(c, { available: DEFAULT_AVAILABLE, pending: 0 });
  }

  balance(currency: string): Balance {
    let b = this.balances.get(currency);
    if (!b) this.balances.set(currency, (b = { available: 0, pending: 0 }));
    return b;
  }

  /** Positive credits, negative debits; callers check sufficiency first where Stripe would. */
  move(currency: string, delta: number): void {
    this.balance(currency).available += delta;
  }

  /** Finds any stored object by id, for `expand[]`. */
  find(id: string): Json | undefined {
    const prefix = id.slice(0, id.indexOf('_'));
    const map: Map<string, Json> | undefined = (
      { pi: this.paymentIntents, ch: this.charges, tr: this.transfers, re: this.refunds, acct: this.accounts, dp: this.disputes } as Record<string, Map<string, Json>>
    )[prefix];
    return map?.get(id);
  }

  snapshot(): Json {
    return {
      balances: Object.fromEntries(this.balances),
      accounts: [...this.accounts.values()],
      paymentIntents: [...this.paymentIntents.values()],
      charges: [...this.charges.values()],
      transfers: [...this.transfers.values()],
      refunds: [...this.refunds.values()],
      disputes: [...this.disputes.values()],
    };
  }
}
