import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context, ScheduledEvent } from 'aws-lambda';
import { SignJWT } from 'jose';
import { MAX_BODY_BYTES, startApiServer, matchRoute, type ApiServer, type HandlerResolver, type LambdaHandler } from '../../../local/api-gateway';
import { flattenClaims, mintToken, verifyBearer } from '../../../local/jwt';
import { ROUTES, type FunctionName } from '../../../functions/routes';

const SECRET = 'unit-test-secret';

type Call = { fn: FunctionName; event: any; context: Context };
let calls: Call[] = [];
let behaviour: Partial<Record<FunctionName, (event: any, context: Context) => unknown>> = {};

const resolver: HandlerResolver = async (fn) => {
  const h: LambdaHandler = async (event, context) => {
    calls.push({ fn, event, context });
    const b = behaviour[fn];
    if (b) return b(event, context);
    return { statusCode: 200, headers: { 'content-type': 'application/json', 'x-request-id': (event as any).requestContext?.requestId ?? 'sched' }, body: JSON.stringify({ fn }) };
  };
  return h;
};

let api: ApiServer;
let healthDown: string[] = [];

beforeAll(async () => {
  api = await startApiServer({ port: 0, resolveHandler: resolver, jwtSecret: SECRET, health: async () => ({ down: healthDown }) });
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => {
  calls = [];
  behaviour = {};
  healthDown = [];
});

const token = (o: Partial<Parameters<typeof mintToken>[0]> = {}) => mintToken({ sub: 'user_b', secret: SECRET, ...o });

async function expectContractError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.requestId).toBeTruthy();
  expect(res.headers.get('x-request-id')).toBe(body.error.requestId);
  return body;
}

describe('route matching', () => {
  it('matches templates and tells a wrong method from an unknown path', () => {
    const r = matchRoute(ROUTES, 'POST', '/api/rifts/rift_1/milestones/2/release');
    expect(r.match?.route.fn).toBe('release');
    expect(r.match?.pathParameters).toEqual({ riftId: 'rift_1', index: '2' });
    expect(matchRoute(ROUTES, 'DELETE', '/api/rifts').pathKnown).toBe(true);
    expect(matchRoute(ROUTES, 'GET', '/api/nope')).toEqual({ pathKnown: false });
    // a path parameter never spans segments
    expect(matchRoute(ROUTES, 'GET', '/api/rifts/a/b').match).toBeUndefined();
  });
});

describe('event mapping', () => {
  it('builds an API Gateway HTTP API payload 2.0 event', async () => {
    const t = await token({ groups: ['admin', 'ops'], claims: { email: 'b@x.io', n: 42, ok: true } });
    const res = await fetch(`${api.url}/api/rifts/rift_abc/milestones/1/release?x=1&y=a%20b&x=2`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t}`, 'Content-Type': 'application/json', 'X-Custom': 'Value', cookie: 'a=1; b=2', 'idempotency-key': 'k1' },
      body: JSON.stringify({ hello: 'wörld' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ fn: 'release' });
    expect(calls).toHaveLength(1);
    const { event, context } = calls[0]! as { event: APIGatewayProxyEventV2WithJWTAuthorizer; context: Context };
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('POST /api/rifts/{riftId}/milestones/{index}/release');
    expect(event.rawPath).toBe('/api/rifts/rift_abc/milestones/1/release');
    expect(event.rawQueryString).toBe('x=1&y=a%20b&x=2');
    expect(event.queryStringParameters).toEqual({ x: '1,2', y: 'a b' });
    expect(event.pathParameters).toEqual({ riftId: 'rift_abc', index: '1' });
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers['x-custom']).toBe('Value');
    expect(event.headers['idempotency-key']).toBe('k1');
    expect(Object.keys(event.headers).every((k) => k === k.toLowerCase())).toBe(true);
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.body).toBe(JSON.stringify({ hello: 'wörld' }));
    expect(event.isBase64Encoded).toBe(false);
    const rc = event.requestContext;
    expect(rc.routeKey).toBe(event.routeKey);
    expect(rc.stage).toBe('$default');
    expect(rc.http.method).toBe('POST');
    expect(rc.http.path).toBe(event.rawPath);
    expect(rc.http.protocol).toBe('HTTP/1.1');
    expect(rc.http.sourceIp).toBe('127.0.0.1');
    expect(typeof rc.http.userAgent).toBe('string');
    expect(rc.requestId).toBeTruthy();
    expect(rc.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(rc.timeEpoch - Date.now())).toBeLessThan(10_000);
    expect(rc.accountId).toBeTruthy();
    expect(rc.apiId).toBeTruthy();
    expect(rc.domainName).toBe(new URL(api.url).host);
    const claims = rc.authorizer.jwt.claims;
    expect(claims.sub).toBe('user_b');
    expect(claims['cognito:groups']).toBe('[admin ops]');
    expect(claims.email).toBe('b@x.io');
    expect(claims.n).toBe('42');
    expect(claims.ok).toBe('true');
    expect(typeof claims.exp).toBe('string');
    expect(rc.authorizer.jwt.scopes).toBeNull();
    expect(context.functionName).toBe('release');
    expect(context.awsRequestId).toBeTruthy();
    const remaining = context.getRemainingTimeInMillis();
    expect(remaining).toBeGreaterThan(20_000);
    expect(remaining).toBeLessThanOrEqual(29_000);
  });

  it('gives each request its own id and omits absent parts', async () => {
    await fetch(`${api.url}/api/health-not-local`).catch(() => undefined);
    await fetch(`${api.url}/api/openapi.json`);
    await fetch(`${api.url}/api/openapi.json`);
    const [a, b] = calls.map((c) => c.event);
    expect(a.requestContext.requestId).not.toBe(b.requestContext.requestId);
    expect(a.routeKey).toBe('GET /api/openapi.json');
    expect(a.pathParameters).toBeUndefined();
    expect(a.queryStringParameters).toBeUndefined();
    expect(a.rawQueryString).toBe('');
    expect(a.body).toBeUndefined();
    expect(a.cookies).toBeUndefined();
    expect(a.isBase64Encoded).toBe(false);
    expect(a.requestContext.authorizer).toBeUndefined(); // no authorizer on public routes
  });

  it('base64-encodes non-text bodies', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await fetch(`${api.url}/api/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const e = calls[0]!.event;
    expect(e.isBase64Encoded).toBe(true);
    expect(Buffer.from(e.body, 'base64').equals(bytes)).toBe(true);
  });

  it('passes the raw text of a webhook body untouched (signatures depend on it)', async () => {
    const raw = '{"id":"evt_1",  "type":"x"}\n';
    await fetch(`${api.url}/api/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': 't=1,v1=abc' }, body: raw });
    const e = calls[0]!.event;
    expect(e.body).toBe(raw);
    expect(e.isBase64Encoded).toBe(false);
    expect(e.headers['stripe-signature']).toBe('t=1,v1=abc');
  });

  it('joins repeated headers with a comma', async () => {
    const port = new URL(api.url).port;
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/api/openapi.json', method: 'GET', headers: { 'X-Multi': ['a', 'b'] } }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    expect(calls[0]!.event.headers['x-multi']).toBe('a,b');
  });
});

describe('responses', () => {
  it('writes a structured result back: status, headers, cookies, base64 body', async () => {
    behaviour.meta = () => ({ statusCode: 201, headers: { 'X-Thing': 'y', 'content-type': 'image/png' }, cookies: ['a=1; Path=/', 'b=2'], body: Buffer.from([1, 2, 3]).toString('base64'), isBase64Encoded: true });
    const res = await fetch(`${api.url}/api/openapi.json`);
    expect(res.status).toBe(201);
    expect(res.headers.get('x-thing')).toBe('y');
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from([1, 2, 3]))).toBe(true);
  });

  it('treats a plain object as a JSON 200, like API Gateway', async () => {
    behaviour.meta = () => ({ hello: 'world' });
    const res = await fetch(`${api.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ hello: 'world' });
  });

  it('answers 500 internal_error in the contract shape when the handler throws', async () => {
    behaviour.meta = () => {
      throw new Error('boom');
    };
    const res = await fetch(`${api.url}/api/openapi.json`);
    const body = await expectContractError(res, 500, 'internal_error');
    expect(body.error.message).not.toContain('boom');
  });
});

describe('the authorizer', () => {
  it('401 without a token, never calling the handler', async () => {
    await expectContractError(await fetch(`${api.url}/api/rifts`), 401, 'unauthorized');
    await expectContractError(await fetch(`${api.url}/api/rifts`, { headers: { authorization: 'Basic abc' } }), 401, 'unauthorized');
    expect(calls).toHaveLength(0);
  });

  it('401 for a bad signature, an expired token, no exp, a future nbf, another algorithm', async () => {
    const bad = await mintToken({ sub: 'u', secret: 'other-secret' });
    const expired = await token({ ttlSeconds: -10 });
    const noExp = await token({ noExp: true });
    const now = Math.floor(Date.now() / 1000);
    const notYet = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now + 600).setNotBefore(now + 300).sign(new TextEncoder().encode(SECRET));
    const hs512 = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS512' }).setExpirationTime(now + 600).sign(new TextEncoder().encode(SECRET));
    const garbage = 'not.a.jwt';
    for (const t of [bad, expired, noExp, notYet, hs512, garbage]) {
      await expectContractError(await fetch(`${api.url}/api/rifts`, { headers: { authorization: `Bearer ${t}` } }), 401, 'unauthorized');
    }
    expect(calls).toHaveLength(0);
  });

  it('accepts a valid token with no iss/aud and a past nbf', async () => {
    const now = Math.floor(Date.now() / 1000);
    const t = await new SignJWT({ sub: 'user_s' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now + 600).setNotBefore(now - 5).sign(new TextEncoder().encode(SECRET));
    const res = await fetch(`${api.url}/api/rifts`, { headers: { authorization: `Bearer ${t}` } });
    expect(res.status).toBe(200);
    expect(calls[0]!.event.requestContext.authorizer.jwt.claims.sub).toBe('user_s');
  });

  it('leaves public routes alone (a bad token is not even looked at)', async () => {
    const res = await fetch(`${api.url}/api/webhooks/stripe`, { method: 'POST', headers: { authorization: 'Bearer nonsense' }, body: '{}' });
    expect(res.status).toBe(200);
  });
});

describe('limits and unknown routes', () => {
  it('404 not_found for an unknown path and for a known path with the wrong method', async () => {
    await expectContractError(await fetch(`${api.url}/api/nope`), 404, 'not_found');
    await expectContractError(await fetch(`${api.url}/api/rifts`, { method: 'DELETE' }), 404, 'not_found');
    expect(calls).toHaveLength(0);
  });

  it("413 payload_too_large over API Gateway's 10 MB (declared length and chunked); 10 MB exactly passes to the handler", async () => {
    const t = await token();
    const big = 'x'.repeat(MAX_BODY_BYTES + 1);
    await expectContractError(await fetch(`${api.url}/api/rifts`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: big }), 413, 'payload_too_large');
    // chunked: no content-length, the server counts as it reads
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < MAX_BODY_BYTES / 4096 + 1; i++) c.enqueue(new TextEncoder().encode('y'.repeat(4096)));
        c.close();
      },
    });
    const res = await fetch(`${api.url}/api/rifts`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    await expectContractError(res, 413, 'payload_too_large');
    expect(calls).toHaveLength(0);
    const ok = await fetch(`${api.url}/api/rifts`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: 'z'.repeat(MAX_BODY_BYTES) });
    expect(ok.status).toBe(200);
    expect(calls[0]!.event.body).toHaveLength(MAX_BODY_BYTES);
  });
});

describe('local extras', () => {
  it('POST /_local/invoke/{fn} runs the scheduled handler with a Scheduled Event, body merged into detail', async () => {
    behaviour['balance-monitor'] = (event: ScheduledEvent) => ({ ran: true, detail: event.detail });
    const res = await fetch(`${api.url}/_local/invoke/balance-monitor`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ force: true, thresholds: { USD: 2000 } }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ran: true, detail: { force: true, thresholds: { USD: 2000 } } });
    const { event, context } = calls[0]! as { event: ScheduledEvent; context: Context };
    expect(event).toMatchObject({ version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: { force: true } });
    expect(event.id).toBeTruthy();
    expect(event.account).toBeTruthy();
    expect(event.region).toBeTruthy();
    expect(Number.isNaN(Date.parse(event.time))).toBe(false);
    expect(event.resources[0]).toMatch(/^arn:aws:events:/);
    expect(context.functionName).toBe('balance-monitor');
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(50_000);

    const r2 = await fetch(`${api.url}/_local/invoke/reconciler`, { method: 'POST' });
    expect(r2.status).toBe(200);
    expect(calls[1]!.event.detail).toEqual({});
  });

  it('invoke: unknown function 404, bad JSON 400, a throwing handler 500', async () => {
    await expectContractError(await fetch(`${api.url}/_local/invoke/rifts`, { method: 'POST' }), 404, 'not_found');
    await expectContractError(await fetch(`${api.url}/_local/invoke/reconciler`, { method: 'POST', body: '{nope' }), 400, 'invalid_json');
    behaviour.reconciler = () => {
      throw new Error('kaput');
    };
    await expectContractError(await fetch(`${api.url}/_local/invoke/reconciler`, { method: 'POST' }), 500, 'internal_error');
  });

  it('GET /api/health: 200 when every part answers, 503 naming the part down', async () => {
    const ok = await fetch(`${api.url}/api/health`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok' });
    expect(ok.headers.get('x-request-id')).toBeTruthy();
    healthDown = ['ses'];
    const down = await fetch(`${api.url}/api/health`);
    const body = await expectContractError(down, 503, 'service_unavailable');
    expect(body.error.message).toContain('ses');
    expect(calls).toHaveLength(0); // the meta handler is not called for health locally
  });
});

describe('jwt helpers', () => {
  it('flattens claims like API Gateway', () => {
    expect(flattenClaims({ sub: 'a', exp: 5, 'cognito:groups': ['admin', 'ops'], b: false, o: { x: 1 } })).toEqual({
      sub: 'a',
      exp: '5',
      'cognito:groups': '[admin ops]',
      b: 'false',
      o: '{"x":1}',
    });
  });

  it('mintToken puts sub, iat, exp and cognito:groups (array) in', async () => {
    const t = await mintToken({ sub: 'user_b', groups: ['admin'], secret: SECRET, ttlSeconds: 60 });
    const v = await verifyBearer(`Bearer ${t}`, SECRET);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.claims.sub).toBe('user_b');
    expect(v.claims['cognito:groups']).toEqual(['admin']);
    expect(v.claims.exp! - v.claims.iat!).toBe(60);
    const plain = await verifyBearer(`Bearer ${await mintToken({ sub: 'u', secret: SECRET })}`, SECRET);
    expect(plain.ok && plain.claims['cognito:groups']).toBeUndefined();
  });
});
