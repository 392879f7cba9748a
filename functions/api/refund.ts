import { httpHandler, parseBody, requireCaller } from '../http';
import { refundRift } from '../core/escrow';
import { toRiftView } from '../core/rift';
import { escrowDeps } from './deps';
import { loadRiftFor, requireRefundKey } from './load';
import { RefundBody } from './schemas';
import { refundView } from './views';

export const handler = httpHandler({
  'POST /api/rifts/{riftId}/refunds': [
    async (req) => {
      const deps = escrowDeps(req.config);
      const rift = await loadRiftFor(deps, req, 'refund');
      const body = parseBody(RefundBody, req.body);
      // Required: two partial refunds of the same amount are both legitimate, so only a key tells a retry apart.
      const clientKey = requireRefundKey(req);
      return req.idempotent(async () => {
        const { intent, rift: after } = await refundRift(deps, rift, { ...body, clientKey }, requireCaller(req));
        return { status: 201, body: { refund: refundView(intent), rift: toRiftView(after) } };
      });
    },
    { idempotency: 'manual' },
  ],
});
