/**
 * The OpenAPI 3.1 document, generated from the route table and the same zod schemas the handlers
 * validate with (zod's `toJSONSchema`, JSON Schema 2020-12 as OpenAPI 3.1 uses).
 */
import * as z from 'zod/mini';
import { ROUTES } from '../routes';
import { ERROR_STATUS } from '../core/errors';
import * as S from './schemas';

type Schema = z.ZodMiniType;
type Spec = { summary: string; body?: Schema; ok: number; response?: Schema; errors: (keyof typeof ERROR_STATUS)[] };

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

/** Named schemas become components; a route refers to them with `$ref`. */
const COMPONENTS: [string, Schema][] = [
  ['CreateRiftBody', S.CreateRiftBody],
  ['FundBody', S.FundBody],
  ['ReleaseBody', S.ReleaseBody],
  ['RefundBody', S.RefundBody],
  ['OpenDisputeBody', S.OpenDisputeBody],
  ['ResolveDisputeBody', S.ResolveDisputeBody],
  ['Rift', S.Rift],
  ['Release', S.Release],
  ['Refund', S.Refund],
  ['Dispute', S.Dispute],
  ['Milestone', S.Milestone],
  ['AuditEvent', S.AuditEvent],
  ['Error', S.ErrorBody],
];

const jsonSchema = (schema: Schema, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

let cached: object | undefined;

export function openApiDocument(): object {
  if (cached) return cached;
  const names = new Map<Schema, string>(COMPONENTS.map(([n, s]) => [s, n]));
  const ref = (schema: Schema, io: 'input' | 'output') => {
    const name = names.get(schema);
    return name ? { $ref: `#/components/schemas/${name}` } : jsonSchema(schema, io);
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const key = `${route.method} ${route.path}`;
    const spec = SPECS[key];
    if (!spec) throw new Error(`no OpenAPI spec for ${key}`);
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const responses: Record<string, { description: string; content?: object }> = {
      [spec.ok]: { description: 'success', ...(spec.response ? { content: { 'application/json': { schema: ref(spec.response, 'output') } } } : {}) },
    };
    for (const code of spec.errors) {
      const status = String(ERROR_STATUS[code]);
      const prev = responses[status];
      responses[status] = {
        description: prev ? `${prev.description}, ${code}` : code,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    const parameters = [
      ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...(route.method === 'POST'
        ? [{ name: 'Idempotency-Key', in: 'header', required: key === 'POST /api/rifts/{riftId}/refunds', schema: { type: 'string', minLength: 1, maxLength: 255 } }]
        : []),
    ];
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      summary: spec.summary,
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(\w)/g, (_m, c: string) => c.toUpperCase())}`,
      ...(route.auth ? { security: [{ bearer: [] }] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(spec.body, 'input') } } } } : {}),
      responses,
    };
  }
  cached = {
    openapi: '3.1.0',
    info: { title: 'Rift escrow API', version: '1.0.0', description: 'Milestone escrow on Stripe Connect. Money in integer minor units.' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: Object.fromEntries(COMPONENTS.map(([n, s]) => [n, jsonSchema(s, n.endsWith('Body') && n !== 'Error' ? 'input' : 'output')])),
    },
  };
  return cached;
}
