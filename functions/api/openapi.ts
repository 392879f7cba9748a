/** The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with. */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ROUTES } from '../routes';
import { ERROR_STATUS } from '../core/errors';
import * as S from './schemas';

type Spec = { summary: string; body?: z.ZodType; ok: number; response?: z.ZodType; errors: (keyof typeof ERROR_STATUS)[] };

const common: (keyof typeof ERROR_STATUS)[] = ['unauthorized', 'rift_not_found'];
const idem: (keyof typeof ERROR_STATUS)[] = ['validation_error', 'invalid_json', 'payload_too_large', 'idempotency_key_reused', 'idempotency_key_in_use'];

const SPECS: Record<string, Spec> = {
  'GET /api/health': { summary: 'Health', ok: 200, response: z.object({ status: z.literal('ok') }), errors: [] },
  'GET /api/openapi.json': { summary: 'This document', ok: 200, errors: [] },
  'POST /api/rifts': { summary: 'Create a rift (the caller is the buyer)', body: S.CreateRiftBody, ok: 201, response: S.Rift, errors: ['unauthorized', ...idem] },
  'GET /api/rifts': { summary: "The caller's rifts, newest first", ok: 200, response: z.object({ rifts: z.array(S.Rift) }), errors: ['unauthorized'] },
  'GET /api/rifts/{riftId}': { summary: 'A rift', ok: 200, response: S.Rift, errors: common },
  'POST /api/rifts/{riftId}/fund': {
    summary: 'Fund with a Stripe PaymentIntent',
    body: S.FundBody,
    ok: 200,
    response: S.Rift,
    errors: [...common, 'forbidden', ...idem, 'card_declined', 'rift_already_funded', 'payment_provider_error'],
  },
  'GET /api/rifts/{riftId}/events': { summary: 'The audit trail, oldest first', ok: 200, response: z.object({ events: z.array(S.AuditEvent) }), errors: common },
  'POST /api/rifts/{riftId}/milestones/{index}/release': {
    summary: 'Release a milestone to the seller (one Stripe transfer, at most once)',
    body: S.ReleaseBody,
    ok: 200,
    response: z.object({ release: S.Release, rift: S.Rift }),
    errors: [
      ...common, 'forbidden', 'milestone_not_found', ...idem, 'rift_not_funded', 'rift_disputed', 'milestone_already_released', 'release_in_progress',
      'rift_closed', 'insufficient_held_funds', 'insufficient_platform_balance', 'payment_provider_error',
    ],
  },
  'POST /api/rifts/{riftId}/refunds': {
    summary: 'Refund held money to the buyer (Idempotency-Key required)',
    body: S.RefundBody,
    ok: 201,
    response: z.object({ refund: S.Refund, rift: S.Rift }),
    errors: [...common, 'forbidden', ...idem, 'idempotency_key_required', 'rift_not_funded', 'rift_disputed', 'nothing_to_refund', 'refund_exceeds_held', 'payment_provider_error'],
  },
  'POST /api/rifts/{riftId}/disputes': {
    summary: 'Open a dispute (freezes releases)',
    body: S.OpenDisputeBody,
    ok: 201,
    response: z.object({ dispute: S.Dispute, rift: S.Rift }),
    errors: [...common, 'forbidden', ...idem, 'rift_not_funded', 'rift_closed', 'dispute_already_open'],
  },
  'POST /api/rifts/{riftId}/disputes/resolve': {
    summary: 'Resolve the open dispute (admin)',
    body: S.ResolveDisputeBody,
    ok: 200,
    response: z.object({ dispute: S.Dispute, rift: S.Rift }),
    errors: [...common, 'forbidden', ...idem, 'no_open_dispute', 'payment_provider_error'],
  },
  'POST /api/webhooks/stripe': { summary: 'Stripe webhooks (signed)', ok: 200, errors: ['invalid_signature'] },
  'GET /api/admin/stripe-balance': { summary: 'Platform balance summary (admin)', ok: 200, errors: ['unauthorized', 'forbidden'] },
  'POST /api/admin/stripe-balance': { summary: 'Run the balance monitor now (admin)', ok: 200, errors: ['unauthorized', 'forbidden', 'validation_error'] },
  'GET /api/admin/stripe-balance/history': { summary: 'Balance snapshots, newest first (admin)', ok: 200, errors: ['unauthorized', 'forbidden'] },
  'GET /api/admin/alerts': { summary: 'Recent alerts, newest first (admin)', ok: 200, errors: ['unauthorized', 'forbidden'] },
  'GET /api/admin/thresholds': { summary: 'Stored thresholds (admin)', ok: 200, errors: ['unauthorized', 'forbidden'] },
  'PUT /api/admin/thresholds': { summary: 'Replace the stored thresholds (admin)', ok: 200, errors: ['unauthorized', 'forbidden', 'validation_error'] },
  'GET /admin/stripe-balance': { summary: 'The admin dashboard page (HTML)', ok: 200, errors: [] },
};

let cached: object | undefined;

export function openApiDocument(): object {
  if (cached) return cached;
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  const error = registry.register('Error', S.ErrorBody);
  for (const route of ROUTES) {
    const key = `${route.method} ${route.path}`;
    const spec = SPECS[key];
    if (!spec) throw new Error(`no OpenAPI spec for ${key}`);
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const responses: Record<string, { description: string; content?: Record<string, { schema: z.ZodType }> }> = {
      [spec.ok]: { description: 'success', ...(spec.response ? { content: { 'application/json': { schema: spec.response } } } : {}) },
    };
    for (const code of spec.errors) {
      const status = String(ERROR_STATUS[code]);
      const prev = responses[status];
      responses[status] = { description: prev ? `${prev.description}, ${code}` : code, content: { 'application/json': { schema: error } } };
    }
    registry.registerPath({
      method: route.method.toLowerCase() as 'get' | 'post' | 'put',
      path: route.path,
      summary: spec.summary,
      ...(route.auth ? { security: [{ [bearer.name]: [] }] } : {}),
      request: {
        ...(params.length ? { params: z.object(Object.fromEntries(params.map((p) => [p, z.string()]))) } : {}),
        ...(route.method === 'POST' ? { headers: z.object({ 'idempotency-key': z.string().min(1).max(255).optional() }) } : {}),
        ...(spec.body ? { body: { content: { 'application/json': { schema: spec.body } } } } : {}),
      },
      responses,
    });
  }
  cached = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Rift escrow API', version: '1.0.0', description: 'Milestone escrow on Stripe Connect. Money in integer minor units.' },
  });
  return cached;
}
