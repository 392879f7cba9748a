import { httpHandler, parseBody, requireCaller } from '../http';
import { openDispute, resolveDispute } from '../core/escrow';
import { disputeView, toRiftView } from '../core/rift';
import { escrowDeps } from './deps';
import { loadRiftFor } from './load';
import { OpenDisputeBody, ResolveDisputeBody } from './schemas';

export const handler = httpHandler({
  'POST /api/rifts/{riftId}/disputes': [
    async (req) => {
      const deps = escrowDeps(req.config);
      const rift = await loadRiftFor(deps, req, 'openDispute');
      const { reason } = parseBody(OpenDisputeBody, req.body);
      req.idempotencyKey();
      return req.idempotent(async () => {
        const out = await openDispute(deps, rift, { reason, source: 'party', openedBy: requireCaller(req).sub });
        return { status: 201, body: { dispute: disputeView(out.dispute), rift: toRiftView(out.rift) } };
      });
    },
    { idempotency: 'manual' },
  ],

  'POST /api/rifts/{riftId}/disputes/resolve': [
    async (req) => {
      const deps = escrowDeps(req.config);
      const rift = await loadRiftFor(deps, req, 'resolveDispute');
      const { outcome } = parseBody(ResolveDisputeBody, req.body);
      req.idempotencyKey();
      return req.idempotent(async () => {
        const out = await resolveDispute(deps, rift, outcome, requireCaller(req));
        return { status: 200, body: { dispute: disputeView(out.dispute), rift: toRiftView(out.rift) } };
      });
    },
    { idempotency: 'manual' },
  ],
});
