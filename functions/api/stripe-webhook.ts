import Stripe from 'stripe';
import { httpHandler, logger } from '../http';
import { RiftError } from '../core/errors';
import { fundFromWebhook, openDispute } from '../core/escrow';
import { secretValue } from '../adapters/secrets';
import { rawBody } from '../http/request';
import { escrowDeps } from './deps';

/** Stripe's default signature tolerance, as the contract says. */
const TOLERANCE_S = 300;

export const handler = httpHandler({
  'POST /api/webhooks/stripe': [
    async (req) => {
      const signature = req.headers['stripe-signature'];
      const payload = rawBody(req.event) ?? '';
      const secret = await secretValue(req.config.stripe.webhookSecret, req.config.stripe.webhookSecretArn, 'Stripe webhook secret');
      let event: Stripe.Event;
      try {
        if (!signature) throw new Error('missing stripe-signature');
        event = Stripe.webhooks.constructEvent(payload, signature, secret, TOLERANCE_S);
      } catch {
        throw new RiftError('invalid_signature', 'the stripe-signature header is missing or does not match the payload');
      }
      const deps = escrowDeps(req.config);
      logger.info('stripe webhook', { stripeEventId: event.id, type: event.type });

      if (event.type === 'payment_intent.succeeded') {
        const pi = event.data.object;
        const riftId = pi.metadata?.riftId;
        if (!riftId) {
          await deps.store.markStripeEventProcessed(event.id);
          return { status: 200, body: { received: true, outcome: 'ignored' } };
        }
        const outcome = await fundFromWebhook(deps, {
          riftId,
          paymentIntentId: pi.id,
          amount: pi.amount,
          currency: pi.currency,
          stripeEventId: event.id,
          ...(pi.metadata?.fundKey ? { fundKey: pi.metadata.fundKey } : {}),
        });
        return { status: 200, body: { received: true, outcome } };
      }

      if (event.type === 'charge.dispute.created') {
        const dp = event.data.object;
        const piId = typeof dp.payment_intent === 'string' ? dp.payment_intent : dp.payment_intent?.id;
        const riftId = piId ? await deps.store.riftIdForPaymentIntent(piId) : undefined;
        const rift = riftId ? await deps.store.getRift(riftId) : undefined;
        if (!rift) {
          await deps.store.markStripeEventProcessed(event.id);
          return { status: 200, body: { received: true, outcome: 'ignored' } };
        }
        const reason = `chargeback: ${dp.reason ?? 'unknown'}`;
        try {
          await openDispute(deps, rift, { reason, source: 'chargeback', openedBy: 'stripe', stripeDisputeId: dp.id, stripeEventId: event.id });
          return { status: 200, body: { received: true, outcome: 'dispute_opened' } };
        } catch (e) {
          if (!(e instanceof RiftError) || e.status !== 409) throw e;
          // A dispute is open already (or nothing is held): record the chargeback, open nothing.
          const recorded = await deps.store.recordEvent(
            rift.riftId,
            {
              eventId: deps.ids.next('evt'),
              type: 'dispute.opened',
              at: deps.clock.now().toISOString(),
              actor: 'stripe',
              stripeId: dp.id,
              amount: dp.amount,
              details: { source: 'chargeback', recordedOnly: true, reason: e.code, existingDisputeId: rift.dispute?.disputeId ?? null },
            },
            event.id,
          );
          return { status: 200, body: { received: true, outcome: recorded ? 'recorded' : 'duplicate' } };
        }
      }

      await deps.store.markStripeEventProcessed(event.id);
      return { status: 200, body: { received: true, outcome: 'ignored' } };
    },
    { idempotency: 'none' },
  ],
});
