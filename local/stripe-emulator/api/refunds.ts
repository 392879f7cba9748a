import { invalidRequest, missing, paramError } from '../errors';
import { newId, nowSeconds } from '../ids';
import { amount, metadata, str } from '../params';
import type { Charge, Refund } from '../store';
import { list, type Ctx, type Route } from './context';

const REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];

function chargeFor(ctx: Ctx): Charge {
  const { params, store } = ctx;
  const piId = str(params, 'payment_intent');
  const chId = str(params, 'charge');
  if (!piId && !chId) throw paramError('parameter_missing', 'One of the following params should be provided for this request: payment_intent or charge.', 'payment_intent');
  if (piId) {
    const pi = store.paymentIntents.get(piId);
    if (!pi) throw missing('payment_intent', piId, 'payment_intent');
    const ch = pi.latest_charge ? store.charges.get(pi.latest_charge) : undefined;
    if (pi.status !== 'succeeded' || !ch) {
      throw invalidRequest('payment_intent_unexpected_state', `This PaymentIntent (${piId}) does not have a successful charge to refund.`, 'payment_intent');
    }
    return ch;
  }
  const ch = store.charges.get(chId!);
  if (!ch) throw missing('charge', chId!, 'charge');
  if (ch.status !== 'succeeded') throw invalidRequest('charge_not_refundable', `Charge ${ch.id} has not succeeded and cannot be refunded.`, 'charge');
  return ch;
}

/** Refunds always succeed and debit `available` (it may go negative, Stripe would debit the bank). */
function create(ctx: Ctx): Refund {
  const { params, store } = ctx;
  const charge = chargeFor(ctx);
  const requested = amount(params, 'amount', false);
  const reason = str(params, 'reason');
  if (reason && !REASONS.includes(reason)) throw paramError('invalid_request', `Invalid reason: must be one of ${REASONS.join(', ')}`, 'reason');
  const meta = metadata(params);
  const rest = charge.amount - charge.amount_refunded;
  if (charge.disputed) throw invalidRequest('charge_disputed', `Charge ${charge.id} has been charged back; cannot issue a refund.`);
  if (rest <= 0) throw invalidRequest('charge_already_refunded', `Charge ${charge.id} has already been refunded.`);
  const amt = requested ?? rest;
  if (amt > rest) {
    throw invalidRequest('amount_too_large', `Refund amount (${amt}) is greater than unrefunded amount on charge (${rest})`, 'amount');
  }
  const refund: Refund = {
    id: newId('re'),
    object: 'refund',
    amount: amt,
    balance_transaction: newId('txn'),
    charge: charge.id,
    created: nowSeconds(),
    currency: charge.currency,
    destination_details: { type: 'card', card: { type: 'refund', reference_status: 'pending' } },
    metadata: meta,
    payment_intent: charge.payment_intent,
    reason: reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
  charge.amount_refunded += amt;
  charge.refunded = charge.amount_refunded >= charge.amount;
  store.move(charge.currency, -amt);
  store.refunds.set(refund.id, refund);
  return refund;
}

export const refundRoutes: Route[] = [
  { method: 'POST', pattern: /^\/v1\/refunds$/, handler: create },
  {
    method: 'GET',
    pattern: /^\/v1\/refunds$/,
    handler: ({ store, params }) => {
      const pi = str(params, 'payment_intent');
      const ch = str(params, 'charge');
      const items = [...store.refunds.values()].filter((r) => (!pi || r.payment_intent === pi) && (!ch || r.charge === ch));
      return list(items, params, '/v1/refunds');
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/refunds\/([^/]+)$/,
    handler: ({ store, path }) => {
      const r = store.refunds.get(path[0]!);
      if (!r) throw missing('refund', path[0]!);
      return r;
    },
  },
];
