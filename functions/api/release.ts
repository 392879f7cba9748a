import { httpHandler, parseBody, requireCaller } from '../http';
import { releaseMilestone } from '../core/escrow';
import { milestoneAt, toRiftView } from '../core/rift';
import { escrowDeps } from './deps';
import { loadRiftFor } from './load';
import { ReleaseBody } from './schemas';
import { releaseView } from './views';

export const handler = httpHandler({
  'POST /api/rifts/{riftId}/milestones/{index}/release': [
    async (req) => {
      const deps = escrowDeps(req.config);
      const rift = await loadRiftFor(deps, req, 'release');
      const milestone = milestoneAt(rift, req.pathParameters.index);
      parseBody(ReleaseBody, req.body);
      req.idempotencyKey();
      return req.idempotent(async () => {
        const { intent, rift: after } = await releaseMilestone(deps, rift, milestone, requireCaller(req));
        return { status: 200, body: { release: releaseView(intent), rift: toRiftView(after) } };
      });
    },
    { idempotency: 'manual' },
  ],
});
