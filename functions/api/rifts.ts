import { httpHandler, parseBody, requireCaller } from '../http';
import { createRift, fundRift } from '../core/escrow';
import { toRiftView } from '../core/rift';
import { escrowDeps } from './deps';
import { loadRiftFor } from './load';
import { CreateRiftBody, FundBody } from './schemas';

export const handler = httpHandler({
  'POST /api/rifts': async (req) => {
    const caller = requireCaller(req);
    const input = parseBody(CreateRiftBody, req.body);
    const rift = await createRift(escrowDeps(req.config), input, caller);
    return { status: 201, body: toRiftView(rift) };
  },

  'GET /api/rifts': async (req) => {
    const caller = requireCaller(req);
    const rifts = await escrowDeps(req.config).store.listRiftsFor(caller.sub);
    return { status: 200, body: { rifts: rifts.map(toRiftView) } };
  },

  'GET /api/rifts/{riftId}': async (req) => {
    const rift = await loadRiftFor(escrowDeps(req.config), req, 'view');
    return { status: 200, body: toRiftView(rift) };
  },

  'POST /api/rifts/{riftId}/fund': [
    async (req) => {
      const deps = escrowDeps(req.config);
      const rift = await loadRiftFor(deps, req, 'fund');
      const { paymentMethodId } = parseBody(FundBody, req.body);
      return req.idempotent(async () => {
        const funded = await fundRift(deps, rift, paymentMethodId, requireCaller(req), req.idempotencyKey());
        return { status: 200, body: toRiftView(funded) };
      });
    },
    { idempotency: 'manual' },
  ],

  'GET /api/rifts/{riftId}/events': async (req) => {
    const deps = escrowDeps(req.config);
    const rift = await loadRiftFor(deps, req, 'view');
    return { status: 200, body: { events: await deps.store.listEvents(rift.riftId) } };
  },
});
