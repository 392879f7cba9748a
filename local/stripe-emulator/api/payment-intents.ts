import { StripeApiError, invalidRequest, missing } from '../errors';
import { newId, nowSeconds } from '../ids';
import { amount, bool, currency, metadata, str } from '../params';
import type { Charge, PaymentIntent } from '../store';
import { list, type Ctx, type Route } from './context';

/** Stripe's magic test payment methods; anything else is `No such PaymentMethod`. */
const TEST_CARDS: Record<string, { decline?: string; brand: string }> = {
  pm_card_visa: { brand: 'visa' },
  pm_card_mastercard: { brand: 'mastercard' },
  pm_card_amex: { brand: 'amex' },
  pm_card_chargeDeclined: { decline: 'generic_decline', brand: 'visa' },
  pm_card_chargeDeclinedInsufficientFunds: { decline: 'insufficient_funds', brand: 'visa' },
  pm_card_chargeDeclinedFraudulent: { decline: 'fraudulent', brand: 'visa' },
};

function paymentMethod(ctx: Ctx): string | undefined {
  const pm = str(ctx.params, 'payment_method');
  if (pm !== undefined && !TEST_CARDS[pm]) throw invalidRequest('resource_missing', `No such PaymentMethod: '${pm}'`, 'payment_method');
  return pm;
}

function getIntent(ctx: Ctx): PaymentIntent {
  const id = ctx.path[0]!;
  const pi = ctx.store.paymentIntents.get(id);
  if (!pi) throw missing('payment_intent', id, undefined);
  return pi;
}

function create(ctx: Ctx): PaymentIntent {
  const { params, store } = ctx;
  const amt = amount(params, 'amount', true)!;
  const cur = currency(params);
  const pm = paymentMethod(ctx);
  const confirm = bool(params, 'confirm') ?? false;
  const id = newId('pi');
  const pi: PaymentIntent = {
    id,
    object: 'payment_intent',
    amount: amt,
    amount_capturable: 0,
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic',
    client_secret: `${id}_secret_${newId('x', 16).slice(2)}`,
    confirmation_method: 'automatic',
    created: nowSeconds(),
    currency: cur,
    customer: str(params, 'customer') ?? null,
    description: str(params, 'description') ?? null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: metadata(params),
    next_action: null,
    on_behalf_of: null,
    payment_method: pm ?? null,
    payment_method_types: ['card'],
    receipt_email: str(params, 'receipt_email') ?? null,
    setup_future_usage: null,
    statement_descriptor: str(params, 'statement_descriptor') ?? null,
    status: pm ? 'requires_confirmation' : 'requires_payment_method',
    transfer_data: null,
    transfer_group: str(params, 'transfer_group') ?? null,
  };
  store.paymentIntents.set(id, pi);
  return confirm ? confirmIntent(ctx, pi, pm) : pi;
}

/** Charges the card: success credits `available` at once and sends payment_intent.succeeded; a decline is 402 with the PI attached. */
function confirmIntent(ctx: Ctx, pi: PaymentIntent, pmOverride: string | undefined): PaymentIntent {
  const { store } = ctx;
  if (pi.status === 'succeeded' || pi.status === 'canceled') {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: `You cannot confirm this PaymentIntent because it has a status of ${pi.status}.`,
      payment_intent: structuredClone(pi),
    });
  }
  const pm = pmOverride ?? pi.payment_method;
  if (!pm) {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: 'You cannot confirm this PaymentIntent because it\'s missing a payment method. Update the payment_method and confirm again.',
      param: 'payment_method',
      payment_intent: structuredClone(pi),
    });
  }
  const card = TEST_CARDS[pm]!;
  const charge: Charge = {
    id: newId('ch'),
    object: 'charge',
    amount: pi.amount,
    amount_captured: card.decline ? 0 : pi.amount,
    amount_refunded: 0,
    balance_transaction: card.decline ? null : newId('txn'),
    captured: !card.decline,
    created: nowSeconds(),
    currency: pi.currency,
    description: pi.description,
    disputed: false,
    failure_code: card.decline ? 'card_declined' : null,
    failure_message: card.decline ? 'Your card was declined.' : null,
    livemode: false,
    metadata: { ...pi.metadata },
    outcome: card.decline
      ? { network_status: 'declined_by_network', reason: card.decline, type: 'issuer_declined', seller_message: 'The bank did not return any further details with this decline.' }
      : { network_status: 'approved_by_network', reason: null, type: 'authorized', seller_message: 'Payment complete.' },
    paid: !card.decline,
    payment_intent: pi.id,
    payment_method: pm,
    payment_method_details: { type: 'card', card: { brand: card.brand, last4: '4242' } },
    refunded: false,
    status: card.decline ? 'failed' : 'succeeded',
    transfer_group: pi.transfer_group,
  };
  store.charges.set(charge.id, charge);
  pi.latest_charge = charge.id;

  if (card.decline) {
    const error = {
      type: 'card_error' as const,
      code: 'card_declined',
      decline_code: card.decline,
      message: 'Your card was declined.',
      charge: charge.id,
      doc_url: 'https://stripe.com/docs/error-codes/card-declined',
    };
    pi.status = 'requires_payment_method';
    pi.payment_method = null;
    pi.last_payment_error = { ...error, payment_method: { id: pm, object: 'payment_method', type: 'card' } };
    throw new StripeApiError(402, { ...error, payment_intent: structuredClone(pi) });
  }

  pi.status = 'succeeded';
  pi.payment_method = pm;
  pi.amount_received = pi.amount;
  pi.last_payment_error = null;
  store.move(pi.currency, pi.amount);
  ctx.webhooks.emit('payment_intent.succeeded', pi, { id: ctx.requestId, idempotency_key: ctx.idempotencyKey });
  return pi;
}

export const paymentIntentRoutes: Route[] = [
  { method: 'POST', pattern: /^\/v1\/payment_intents$/, handler: create },
  { method: 'GET', pattern: /^\/v1\/payment_intents$/, handler: (ctx) => list(ctx.store.paymentIntents.values(), ctx.params, '/v1/payment_intents') },
  { method: 'GET', pattern: /^\/v1\/payment_intents\/([^/]+)$/, handler: getIntent },
  { method: 'POST', pattern: /^\/v1\/payment_intents\/([^/]+)\/confirm$/, handler: (ctx) => confirmIntent(ctx, getIntent(ctx), paymentMethod(ctx)) },
  {
    method: 'GET',
    pattern: /^\/v1\/charges\/([^/]+)$/,
    handler: ({ store, path }) => {
      const ch = store.charges.get(path[0]!);
      if (!ch) throw missing('charge', path[0]!);
      return ch;
    },
  },
];
