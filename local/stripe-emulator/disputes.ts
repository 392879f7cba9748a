import { invalidRequest, missing } from './errors';
import { newId, nowSeconds } from './ids';
import type { Dispute, Store } from './store';
import type { Webhooks } from './webhooks';

/**
 * A chargeback on a PaymentIntent's charge, as the card network would open it. One per charge;
 * it does not move the emulated balance (the contract only moves it for payments, transfers, refunds).
 */
export function openDispute(store: Store, webhooks: Webhooks, piId: string, input: { amount?: unknown; reason?: unknown }): Dispute {
  const pi = store.paymentIntents.get(piId);
  if (!pi) throw missing('payment_intent', piId);
  const charge = pi.latest_charge ? store.charges.get(pi.latest_charge) : undefined;
  if (pi.status !== 'succeeded' || !charge) throw invalidRequest('payment_intent_unexpected_state', `PaymentIntent ${piId} has no successful charge to dispute.`);
  if (charge.disputed) throw invalidRequest('charge_disputed', `Charge ${charge.id} already has a dispute.`);
  const amount = input.amount ?? charge.amount;
  if (!Number.isInteger(amount) || (amount as number) < 1 || (amount as number) > charge.amount) {
    throw invalidRequest('parameter_invalid_integer', `amount must be an integer from 1 to ${charge.amount}`, 'amount');
  }
  const reason = typeof input.reason === 'string' ? input.reason : 'fraudulent';
  const created = nowSeconds();
  const dispute: Dispute = {
    id: newId('dp'),
    object: 'dispute',
    amount: amount as number,
    balance_transactions: [],
    charge: charge.id,
    created,
    currency: charge.currency,
    evidence: {},
    evidence_details: { due_by: created + 7 * 86400, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: pi.id,
    reason,
    status: 'needs_response',
  };
  charge.disputed = true;
  store.disputes.set(dispute.id, dispute);
  webhooks.emit('charge.dispute.created', dispute, { id: null, idempotency_key: null });
  return dispute;
}
