import Stripe from 'stripe';
import type { Config } from './config';
import { secretValue } from './secrets';
import { PaymentProviderError, type BalanceEntry, type PaymentGateway, type PaymentIntentResult } from './payment-gateway';

/** One Stripe client per process; the secret key is read once per cold start and never logged. */
let clientPromise: Promise<Stripe> | undefined;
let clientKey = '';

export function stripeClient(config: Config): Promise<Stripe> {
  const s = config.stripe;
  const key = `${s.host}|${s.port}|${s.timeoutMs}|${s.maxNetworkRetries}|${s.secretKey ?? s.secretArn}`;
  if (!clientPromise || clientKey !== key) {
    clientKey = key;
    clientPromise = secretValue(s.secretKey, s.secretArn, 'Stripe secret key').then(
      (apiKey) =>
        new Stripe(apiKey, {
          timeout: s.timeoutMs,
          // Deliberate: one SDK retry for transient failures, always with the same idempotency key.
          maxNetworkRetries: s.maxNetworkRetries,
          telemetry: false,
          ...(s.host ? { host: s.host, port: s.port, protocol: s.protocol ?? 'http' } : {}),
        }),
    );
    clientPromise.catch(() => (clientPromise = undefined));
  }
  return clientPromise;
}

/** Maps an SDK error to the saga's three outcomes. */
export function classifyStripeError(e: unknown): PaymentProviderError {
  if (e instanceof Stripe.errors.StripeError) {
    const status = e.statusCode;
    // Stripe puts `idempotency_error` in the error's type, not its code: name it so the saga can tell it apart.
    const code = e.code ?? (e instanceof Stripe.errors.StripeIdempotencyError ? 'idempotency_error' : undefined);
    if (e instanceof Stripe.errors.StripeCardError) return new PaymentProviderError('declined', code ?? 'card_declined', e.message);
    // 409 (a concurrent request holds the same idempotency key / lock), 429 and 5xx: unknown outcome.
    if (status === undefined || status >= 500 || status === 409 || status === 429 || e instanceof Stripe.errors.StripeConnectionError) {
      return new PaymentProviderError('unavailable', code, e.message);
    }
    return new PaymentProviderError('rejected', code, e.message);
  }
  return new PaymentProviderError('unavailable', undefined, e instanceof Error ? e.message : String(e));
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw classifyStripeError(e);
  }
}

const toPi = (pi: Stripe.PaymentIntent): PaymentIntentResult => ({ id: pi.id, status: pi.status, amount: pi.amount, currency: pi.currency });

export function createStripeGateway(config: Config): PaymentGateway {
  const stripe = () => stripeClient(config);
  return {
    async getBalance(): Promise<BalanceEntry[]> {
      const b = await call(async () => (await stripe()).balance.retrieve());
      const byCurrency = new Map<string, BalanceEntry>();
      const entry = (c: string) => {
        let x = byCurrency.get(c);
        if (!x) byCurrency.set(c, (x = { currency: c, available: 0, pending: 0 }));
        return x;
      };
      for (const a of b.available) entry(a.currency).available += a.amount;
      for (const p of b.pending) entry(p.currency).pending += p.amount;
      return [...byCurrency.values()];
    },

    async createAndConfirmPayment(p) {
      const pi = await call(async () =>
        (await stripe()).paymentIntents.create(
          {
            amount: p.amount,
            currency: p.currency,
            payment_method: p.paymentMethodId,
            confirm: true,
            transfer_group: p.riftId,
            metadata: { riftId: p.riftId, ...(p.fundKey ? { fundKey: p.fundKey } : {}) },
            automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          },
          { idempotencyKey: p.idempotencyKey },
        ),
      );
      return toPi(pi);
    },

    async getPaymentIntent(id) {
      return toPi(await call(async () => (await stripe()).paymentIntents.retrieve(id)));
    },

    async createTransfer(p) {
      const t = await call(async () =>
        (await stripe()).transfers.create(
          {
            amount: p.amount,
            currency: p.currency,
            destination: p.destination,
            transfer_group: p.riftId,
            metadata: { riftId: p.riftId, milestoneIndex: String(p.milestoneIndex), releaseId: p.releaseId },
          },
          { idempotencyKey: p.idempotencyKey },
        ),
      );
      return { id: t.id };
    },

    async findTransfer(riftId, releaseId) {
      const s = await stripe();
      return call(async () => {
        for await (const t of s.transfers.list({ transfer_group: riftId, limit: 100 })) {
          if (t.metadata?.releaseId === releaseId) return { id: t.id, amount: t.amount };
        }
        return null;
      });
    },

    async createRefund(p) {
      const r = await call(async () =>
        (await stripe()).refunds.create(
          { payment_intent: p.paymentIntentId, amount: p.amount, metadata: { riftId: p.riftId, refundId: p.refundId } },
          { idempotencyKey: p.idempotencyKey },
        ),
      );
      return { id: r.id };
    },

    async findRefund(paymentIntentId, refundId) {
      const s = await stripe();
      return call(async () => {
        for await (const r of s.refunds.list({ payment_intent: paymentIntentId, limit: 100 })) {
          if (r.metadata?.refundId === refundId) return { id: r.id, amount: r.amount };
        }
        return null;
      });
    },
  };
}
