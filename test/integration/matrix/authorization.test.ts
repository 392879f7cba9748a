/**
 * The authorization matrix: every route in ROUTES × { no token, bad signature, expired, buyer,
 * seller, stranger, admin } → the contract's status (and code), from ONE table keyed by routeKey.
 * A route added to ROUTES without a row here fails the first test.
 *
 * Bodies are valid, so that authorization is what is tested. Cells that would change a rift run
 * against a fresh rift of their own; cells that are refused must leave that rift unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ROUTES, routeKey } from '../../../functions/routes';
import type { LocalStack } from '../../../local/stack';
import { mintToken } from '../../../local/jwt';
import { buildEvent } from '../../../local/api-gateway';
import { lambdaContext } from '../../../local/lambda-context';
import {
  ADMIN, BUYER, PRINCIPALS, SELLER, call, createBody, createRift, expectErrorShape, fundedRift, mintTokens, newId, signWebhook, startStack, stripeEvent,
  type Principal, type Res, type Tokens,
} from './helpers';

/** `status`, or `[status, code]` for an error answer. */
type Exp = number | [number, string];
type Target = 'none' | 'shared' | 'freshUnfunded' | 'freshFunded';

interface Row {
  /** Public routes have no authorizer: a token, good or bad, is ignored. */
  public?: boolean;
  target: Target;
  path: (riftId: string) => string;
  body?: () => unknown;
  headers?: () => Record<string, string>;
  /** A custom request (the signed webhook). */
  send?: (token: string | undefined) => Promise<Res>;
  /** Expected answer per caller with a valid token (auth routes) or every caller (public routes). */
  expect: Partial<Record<Principal, Exp>>;
  /** Issue that still has to build this route (its placeholder answers 501 not_implemented). */
  pendingIssue?: number;
}

const UNAUTH: Exp = [401, 'unauthorized'];
const NOT_FOUND: Exp = [404, 'rift_not_found'];
const FORBIDDEN: Exp = [403, 'forbidden'];
const adminOnly = (ok = 200): Row['expect'] => ({ buyer: FORBIDDEN, seller: FORBIDDEN, stranger: FORBIDDEN, admin: ok });
const everyone = (ok: Exp): Row['expect'] => Object.fromEntries(PRINCIPALS.map((p) => [p, ok]));

let stack: LocalStack;
let api: string;
let tokens: Tokens;
let shared: { riftId: string; paymentIntentId: string };

const TABLE: Record<string, Row> = {
  'GET /api/health': { public: true, target: 'none', path: () => '/api/health', expect: everyone(200) },
  'GET /api/openapi.json': { public: true, target: 'none', path: () => '/api/openapi.json', expect: everyone(200) },
  'POST /api/rifts': {
    target: 'none',
    path: () => '/api/rifts',
    // The payee is none of the callers, so every caller may be the buyer.
    body: () => createBody([5_000], 'user_mx_payee'),
    expect: { buyer: 201, seller: 201, stranger: 201, admin: 201 },
  },
  'GET /api/rifts': { target: 'none', path: () => '/api/rifts', expect: { buyer: 200, seller: 200, stranger: 200, admin: 200 } },
  'GET /api/rifts/{riftId}': { target: 'shared', path: (id) => `/api/rifts/${id}`, expect: { buyer: 200, seller: 200, stranger: NOT_FOUND, admin: 200 } },
  'POST /api/rifts/{riftId}/fund': {
    target: 'freshUnfunded',
    path: (id) => `/api/rifts/${id}/fund`,
    body: () => ({ paymentMethodId: 'pm_card_visa' }),
    expect: { buyer: 200, seller: FORBIDDEN, stranger: NOT_FOUND, admin: FORBIDDEN },
  },
  'GET /api/rifts/{riftId}/events': { target: 'shared', path: (id) => `/api/rifts/${id}/events`, expect: { buyer: 200, seller: 200, stranger: NOT_FOUND, admin: 200 } },
  'POST /api/rifts/{riftId}/milestones/{index}/release': {
    target: 'freshFunded',
    path: (id) => `/api/rifts/${id}/milestones/0/release`,
    body: () => ({}),
    expect: { buyer: 200, seller: FORBIDDEN, stranger: NOT_FOUND, admin: 200 },
  },
  'POST /api/rifts/{riftId}/refunds': {
    target: 'freshFunded',
    path: (id) => `/api/rifts/${id}/refunds`,
    body: () => ({ amount: 1_000, reason: 'matrix' }),
    headers: () => ({ 'idempotency-key': newId('idem') }),
    expect: { buyer: FORBIDDEN, seller: 201, stranger: NOT_FOUND, admin: 201 },
  },
  'POST /api/rifts/{riftId}/disputes': {
    target: 'freshFunded',
    path: (id) => `/api/rifts/${id}/disputes`,
    body: () => ({ reason: 'work not delivered' }),
    expect: { buyer: 201, seller: 201, stranger: NOT_FOUND, admin: FORBIDDEN },
  },
  'POST /api/rifts/{riftId}/disputes/resolve': {
    // No dispute is open on the shared rift: an authorized admin gets past 403 to the 409.
    target: 'shared',
    path: (id) => `/api/rifts/${id}/disputes/resolve`,
    body: () => ({ outcome: 'dismiss' }),
    expect: { buyer: FORBIDDEN, seller: FORBIDDEN, stranger: NOT_FOUND, admin: [409, 'no_open_dispute'] },
  },
  'POST /api/webhooks/stripe': {
    public: true,
    target: 'none',
    path: () => '/api/webhooks/stripe',
    // A correctly signed event of a type the service ignores; any bearer token is irrelevant.
    send: async (token) => {
      const ev = stripeEvent('customer.created', { id: newId('cus'), object: 'customer' });
      const payload = JSON.stringify(ev);
      return call(api, 'POST', '/api/webhooks/stripe', { raw: payload, token, headers: { 'stripe-signature': signWebhook(payload) } });
    },
    expect: everyone(200),
  },
  'GET /api/admin/stripe-balance': { target: 'none', path: () => '/api/admin/stripe-balance', expect: adminOnly() },
  'POST /api/admin/stripe-balance': { target: 'none', path: () => '/api/admin/stripe-balance', body: () => ({}), expect: adminOnly() },
  'GET /api/admin/stripe-balance/history': { target: 'none', path: () => '/api/admin/stripe-balance/history', expect: adminOnly() },
  'GET /api/admin/alerts': { target: 'none', path: () => '/api/admin/alerts', expect: adminOnly() },
  'GET /api/admin/thresholds': { target: 'none', path: () => '/api/admin/thresholds', expect: adminOnly() },
  'PUT /api/admin/thresholds': {
    target: 'none',
    path: () => '/api/admin/thresholds',
    body: () => ({ thresholds: { USD: 1000, CAD: 1000, EUR: 1000 } }),
    expect: adminOnly(),
  },
  'GET /admin/stripe-balance': { public: true, target: 'none', path: () => '/admin/stripe-balance', expect: everyone(200), pendingIssue: 7 },
};

const tokenFor = (p: Principal) => tokens[p];

beforeAll(async () => {
  stack = await startStack('authz');
  api = stack.apiUrl;
  tokens = await mintTokens();
  shared = await fundedRift(api, tokens.buyer!);
});
afterAll(async () => {
  await stack?.stop();
});

describe('the authorization table', () => {
  it('has exactly one row per route in ROUTES (a new route without a row fails here)', () => {
    expect(Object.keys(TABLE).sort()).toEqual(ROUTES.map(routeKey).sort());
    expect(new Set(ROUTES.map(routeKey)).size).toBe(ROUTES.length);
  });

  it('marks public exactly the routes without an authorizer, and every authorized caller of an auth route has an expectation', () => {
    for (const r of ROUTES) {
      const row = TABLE[routeKey(r)]!;
      expect(!!row.public, routeKey(r)).toBe(!r.auth);
      const needed: Principal[] = row.public ? [...PRINCIPALS] : ['buyer', 'seller', 'stranger', 'admin'];
      for (const p of needed) expect(row.expect[p], `${routeKey(r)} × ${p}`).toBeDefined();
    }
  });
});

async function targetFor(row: Row, p: Principal): Promise<string> {
  const caller = p === 'buyer' || p === 'seller' || p === 'stranger' || p === 'admin';
  if (row.target === 'none') return '';
  if (row.target === 'shared' || !caller) return shared.riftId;
  if (row.target === 'freshUnfunded') return createRift(api, tokens.buyer!, [10_000, 20_000]);
  return (await fundedRift(api, tokens.buyer!, [10_000, 20_000])).riftId;
}

describe.each(ROUTES.map(routeKey))('%s', (key) => {
  const row = TABLE[key];
  const method = key.split(' ')[0]!;
  it.each([...PRINCIPALS])('× %s', async (p) => {
    expect(row, `no row for ${key}`).toBeDefined();
    const exp: Exp = row!.public ? row!.expect[p]! : (p === 'none' || p === 'badSignature' || p === 'expired' ? UNAUTH : row!.expect[p]!);
    const [status, code] = Array.isArray(exp) ? exp : [exp, undefined];
    const riftId = await targetFor(row!, p);
    const fresh = riftId !== '' && riftId !== shared.riftId;
    const before = fresh ? await call(api, 'GET', `/api/rifts/${riftId}`, { token: tokens.buyer }) : undefined;

    const token = tokenFor(p);
    const res = row!.send
      ? await row!.send(token)
      : await call(api, method, row!.path(riftId), { token, json: row!.body?.(), headers: row!.headers?.() });

    if (row!.pendingIssue && res.status === 501) {
      // Still the placeholder (issue #${row.pendingIssue} builds it): it must at least not ask for a token.
      expectErrorShape(res, 'not_implemented');
      return;
    }
    expect(res.status, `${key} × ${p}: ${res.text.slice(0, 300)}`).toBe(status);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    if (status >= 400) expectErrorShape(res, code);
    if (fresh && status >= 400) {
      // Refused: the rift is exactly as it was.
      const after = await call(api, 'GET', `/api/rifts/${riftId}`, { token: tokens.buyer });
      expect(after.body).toEqual(before!.body);
    }
    if (key === 'GET /api/rifts/{riftId}' && status === 200) expect(res.body.riftId).toBe(riftId);
  });
});

describe('success cells did what they say', () => {
  it('admin release and buyer release each released milestone 0; seller/admin refunds are 201 with the refund', async () => {
    const a = await fundedRift(api, tokens.buyer!);
    const r = await call(api, 'POST', `/api/rifts/${a.riftId}/milestones/0/release`, { token: tokens.admin, json: {} });
    expect(r.status).toBe(200);
    expect(r.body.release.milestoneIndex).toBe(0);
    expect(r.body.rift.milestones[0].status).toBe('released');
    const f = await call(api, 'POST', `/api/rifts/${a.riftId}/refunds`, { token: tokens.seller, json: { amount: 500 }, headers: { 'idempotency-key': newId('k') } });
    expect(f.status).toBe(201);
    expect(f.body.refund.amount).toBe(500);
  });

  it('resolve: an admin resolves an open dispute (200); the parties cannot (403)', async () => {
    const a = await fundedRift(api, tokens.buyer!);
    expect((await call(api, 'POST', `/api/rifts/${a.riftId}/disputes`, { token: tokens.seller, json: { reason: 'x' } })).status).toBe(201);
    for (const p of ['buyer', 'seller'] as const) {
      const r = await call(api, 'POST', `/api/rifts/${a.riftId}/disputes/resolve`, { token: tokens[p], json: { outcome: 'dismiss' } });
      expect(r.status).toBe(403);
      expectErrorShape(r, 'forbidden');
    }
    const ok = await call(api, 'POST', `/api/rifts/${a.riftId}/disputes/resolve`, { token: tokens.admin, json: { outcome: 'dismiss' } });
    expect(ok.status).toBe(200);
    expect(ok.body.dispute.status).toBe('resolved');
  });

  it('a stranger cannot tell an existing rift from a missing one', async () => {
    const missing = await call(api, 'GET', '/api/rifts/rift_doesnotexist0000', { token: tokens.stranger });
    const existing = await call(api, 'GET', `/api/rifts/${shared.riftId}`, { token: tokens.stranger });
    expect(missing.status).toBe(404);
    expect(existing.status).toBe(404);
    expect(existing.body.error.code).toBe(missing.body.error.code);
    expect(existing.body.error.message).toBe(missing.body.error.message);
  });
});

describe('tokens', () => {
  it('a token without exp, a malformed header and a non-Bearer scheme are 401', async () => {
    const noExp = await mintToken({ sub: BUYER, noExp: true });
    for (const authorization of [`Bearer ${noExp}`, 'Bearer', `Basic ${Buffer.from('a:b').toString('base64')}`, `Bearer ${tokens.buyer}x`, 'Bearer not.a.jwt']) {
      const r = await call(api, 'GET', '/api/rifts', { headers: { authorization } });
      expect(r.status, authorization).toBe(401);
      expectErrorShape(r, 'unauthorized');
    }
  });

  it('a token signed with another algorithm (alg none) is 401', async () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const forged = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: ADMIN, 'cognito:groups': ['admin'], exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    const r = await call(api, 'GET', '/api/admin/thresholds', { token: forged });
    expect(r.status).toBe(401);
    expectErrorShape(r, 'unauthorized');
  });
});

describe('cognito:groups: an array and the API Gateway string "[admin ops]" both grant admin', () => {
  const adminRoute = '/api/admin/thresholds';

  it('over HTTP: groups as a JWT array (flattened by the gateway to "[ops admin]") and as the string "[admin ops]"', async () => {
    const asArray = await mintToken({ sub: 'user_mx_ops1', groups: ['ops', 'admin'] });
    const asString = await mintToken({ sub: 'user_mx_ops2', claims: { 'cognito:groups': '[admin ops]' } });
    const single = await mintToken({ sub: 'user_mx_ops3', claims: { 'cognito:groups': 'admin' } });
    for (const t of [asArray, asString, single]) {
      expect((await call(api, 'GET', adminRoute, { token: t })).status).toBe(200);
      expect((await call(api, 'GET', `/api/rifts/${shared.riftId}`, { token: t })).status).toBe(200);
    }
  });

  it('groups that merely look like admin do not grant it', async () => {
    for (const groups of [['administrators'], ['ops'], ['Admin'], ['not-admin']]) {
      const t = await mintToken({ sub: 'user_mx_lookalike', groups });
      const r = await call(api, 'GET', adminRoute, { token: t });
      expect(r.status, JSON.stringify(groups)).toBe(403);
      expectErrorShape(r, 'forbidden');
      expect((await call(api, 'GET', `/api/rifts/${shared.riftId}`, { token: t })).status).toBe(404);
    }
    for (const s of ['[administrators ops]', '[ops]', 'adminx', '']) {
      const t = await mintToken({ sub: 'user_mx_lookalike', claims: { 'cognito:groups': s } });
      expect((await call(api, 'GET', adminRoute, { token: t })).status, s).toBe(403);
    }
  });

  it('in the Lambda: claims holding a real array (as a direct authorizer would) grant admin too', async () => {
    const invoke = async (fnModule: string, key: string, rawPath: string, groups: unknown, pathParameters?: Record<string, string>) => {
      const route = ROUTES.find((r) => routeKey(r) === key)!;
      const event = buildEvent({ method: route.method, url: rawPath, rawHeaders: [] }, { route, pathParameters }, { requestId: newId('req') }) as APIGatewayProxyEventV2 & {
        requestContext: { authorizer?: unknown };
      };
      event.requestContext.authorizer = { jwt: { claims: { sub: 'user_mx_ops4', 'cognito:groups': groups }, scopes: null } };
      const mod = (await import(fnModule)) as { handler: (e: unknown, c: unknown) => Promise<APIGatewayProxyStructuredResultV2> };
      return mod.handler(event, lambdaContext(route.fn));
    };
    const thresholds = (g: unknown) => invoke('../../../functions/api/admin-balance', 'GET /api/admin/thresholds', adminRoute, g);
    expect((await thresholds(['admin', 'ops'])).statusCode).toBe(200);
    expect((await thresholds('[admin ops]')).statusCode).toBe(200);
    expect((await thresholds(['ops'])).statusCode).toBe(403);
    const view = (g: unknown) => invoke('../../../functions/api/rifts', 'GET /api/rifts/{riftId}', `/api/rifts/${shared.riftId}`, g, { riftId: shared.riftId });
    expect((await view(['ops', 'admin'])).statusCode).toBe(200);
    expect((await view('[ops admin]')).statusCode).toBe(200);
    expect((await view(['ops'])).statusCode).toBe(404);
  });
});

describe('sanity', () => {
  it('the parties are who the fixtures say', async () => {
    const r = await call(api, 'GET', `/api/rifts/${shared.riftId}`, { token: tokens.seller });
    expect(r.body.buyerId).toBe(BUYER);
    expect(r.body.sellerId).toBe(SELLER);
    expect(r.body.status).toBe('funded');
  });
});
