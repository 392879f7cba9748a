/**
 * The local API Gateway (HTTP API, payload format 2.0) emulation: a node:http server that
 * matches the shared route table, verifies HS256 JWTs where the CDK authorizer would, builds an
 * `APIGatewayProxyEventV2` and calls the same handler modules that run in Lambda.
 *
 * Local-only extras: `POST /_local/invoke/{function}` (runs a scheduled handler with an
 * EventBridge "Scheduled Event") and, when a `health` probe is given, `GET /api/health`.
 */
import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, ScheduledEvent } from 'aws-lambda';
import { FUNCTIONS, ROUTES, SCHEDULES, type FunctionName, type RouteDef, type ScheduledFunctionName } from '../functions/routes';
import { flattenClaims, localJwtSecret, verifyBearer } from './jwt';
import { lambdaContext, LOCAL_ACCOUNT_ID } from './lambda-context';

export type LambdaHandler = (event: unknown, context: Context) => unknown;
/** Returns the `handler` export of a function (injectable for tests). */
export type HandlerResolver = (fn: FunctionName) => Promise<LambdaHandler>;

/**
 * API Gateway's own payload limit (HTTP APIs: 10 MB). The contract's 64 KiB limit is the handler's
 * (`functions/http`), so that 404/403 still come before 413 as the contract orders them.
 */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Imports `FUNCTIONS[fn].entry` (the same file Lambda bundles) and returns its `handler`.
 * Import lazily, after process.env is set: handlers read their config at load.
 */
export const importHandler: HandlerResolver = async (fn) => {
  const spec = FUNCTIONS[fn];
  if (!spec) throw new Error(`unknown function ${fn}`);
  const mod = (await import(pathToFileURL(path.join(PROJECT_ROOT, spec.entry)).href)) as { handler?: unknown; default?: { handler?: unknown } };
  const h = mod.handler ?? mod.default?.handler;
  if (typeof h !== 'function') throw new Error(`${spec.entry} does not export a handler function`);
  return h as LambdaHandler;
};

// ---------------------------------------------------------------------------------------------
// Route matching

export interface RouteMatch {
  route: RouteDef;
  pathParameters?: Record<string, string>;
}

const compiled = new WeakMap<readonly RouteDef[], { route: RouteDef; re: RegExp; names: string[] }[]>();

function compile(routes: readonly RouteDef[]) {
  let c = compiled.get(routes);
  if (!c) {
    c = routes.map((route) => {
      const names: string[] = [];
      const src = route.path
        .split('/')
        .map((seg) => {
          const m = /^\{([A-Za-z0-9_]+)\}$/.exec(seg);
          if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(m[1]!);
          return '([^/]+)';
        })
        .join('/');
      return { route, re: new RegExp(`^${src}$`), names };
    });
    compiled.set(routes, c);
  }
  return c;
}

/** `{ match }` for the route, `{ pathKnown: true }` when only the method is wrong, else `{}`. */
export function matchRoute(routes: readonly RouteDef[], method: string, rawPath: string): { match?: RouteMatch; pathKnown?: boolean } {
  let pathKnown = false;
  for (const { route, re, names } of compile(routes)) {
    const m = re.exec(rawPath);
    if (!m) continue;
    pathKnown = true;
    if (route.method !== method) continue;
    if (names.length === 0) return { match: { route } };
    const pathParameters: Record<string, string> = {};
    names.forEach((n, i) => {
      const raw = m[i + 1]!;
      let v = raw;
      try {
        v = decodeURIComponent(raw);
      } catch {
        /* keep raw */
      }
      pathParameters[n] = v;
    });
    return { match: { route, pathParameters } };
  }
  return { pathKnown };
}

// ---------------------------------------------------------------------------------------------
// Event building

const TEXT_TYPES = [/^text\//, /^application\/(json|xml|javascript|x-www-form-urlencoded|graphql|x-ndjson)$/, /\+(json|xml)$/];

/** Whether a body of this content type is passed as UTF-8 text (else base64, isBase64Encoded=true). */
export function isTextContentType(contentType: string | undefined, body: Buffer): boolean {
  if (!contentType) {
    // No content type: text when it is valid UTF-8.
    return Buffer.from(body.toString('utf8'), 'utf8').equals(body);
  }
  const mime = contentType.split(';')[0]!.trim().toLowerCase();
  return TEXT_TYPES.some((re) => re.test(mime));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');
/** API Gateway's `requestContext.time`: `12/Mar/2020:19:03:58 +0000`. */
export function apiGatewayTime(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** A request id shaped like API Gateway's (`JKJaXmPLvHcESHA=`-like): unique, URL-safe. */
export const newRequestId = () => randomBytes(12).toString('base64url');

export interface RawRequest {
  method: string;
  /** Path plus optional `?query`, as received. */
  url: string;
  /** node's `rawHeaders` (name, value, name, value, ...). */
  rawHeaders: string[];
  body?: Buffer;
  sourceIp?: string;
  httpVersion?: string;
}

export function buildEvent(
  req: RawRequest,
  match: RouteMatch,
  opts: { requestId: string; claims?: Record<string, string>; now?: Date },
): APIGatewayProxyEventV2 {
  const now = opts.now ?? new Date();
  const qIdx = req.url.indexOf('?');
  const rawPath = qIdx >= 0 ? req.url.slice(0, qIdx) : req.url;
  const rawQueryString = qIdx >= 0 ? req.url.slice(qIdx + 1) : '';

  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  let cookies: string[] | undefined;
  if (headers.cookie !== undefined) {
    cookies = headers.cookie
      .split(/;\s*|,/)
      .map((c) => c.trim())
      .filter(Boolean);
    delete headers.cookie;
  }

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString) {
    queryStringParameters = {};
    for (const [k, v] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[k] = k in queryStringParameters ? `${queryStringParameters[k]},${v}` : v;
    }
  }

  const routeKey = `${match.route.method} ${match.route.path}`;
  const event: APIGatewayProxyEventV2 & { requestContext: { authorizer?: unknown } } = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!.split(':')[0]!,
      http: {
        method: req.method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion ?? '1.1'}`,
        sourceIp: (req.sourceIp ?? '127.0.0.1').replace(/^::ffff:/, ''),
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: opts.requestId,
      routeKey,
      stage: '$default',
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies) event.cookies = cookies;
  if (queryStringParameters) event.queryStringParameters = queryStringParameters;
  if (match.pathParameters) event.pathParameters = match.pathParameters;
  if (opts.claims) event.requestContext.authorizer = { jwt: { claims: opts.claims, scopes: null } };
  if (req.body && req.body.length > 0) {
    if (isTextContentType(headers['content-type'], req.body)) {
      event.body = req.body.toString('utf8');
    } else {
      event.body = req.body.toString('base64');
      event.isBase64Encoded = true;
    }
  }
  return event;
}

/** An EventBridge scheduled event, as the `rate(...)` rules deliver; `detail` merged in. */
export function scheduledEvent(fn: string, detail: Record<string, unknown> = {}, now = new Date()): ScheduledEvent {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/rift-local-${fn}`],
    detail: { ...detail },
  };
}

export const isScheduledFunction = (fn: string): fn is ScheduledFunctionName => Object.prototype.hasOwnProperty.call(SCHEDULES, fn);

/** Runs a scheduled handler once, like EventBridge would, and returns its result. */
export async function invokeScheduled(fn: ScheduledFunctionName, detail: Record<string, unknown> = {}, resolve: HandlerResolver = importHandler): Promise<unknown> {
  const handler = await resolve(fn);
  return await handler(scheduledEvent(fn, detail), lambdaContext(fn));
}

// ---------------------------------------------------------------------------------------------
// The server

export type HealthProbe = () => Promise<{ down: string[] }>;

export interface ApiServerOptions {
  /** 0 = a free port. */
  port: number;
  host?: string;
  routes?: readonly RouteDef[];
  resolveHandler?: HandlerResolver;
  /** Defaults to RIFT_LOCAL_JWT_SECRET / `rift-local-secret` (read per request). */
  jwtSecret?: string;
  /** When given, `GET /api/health` is answered locally from it (200 only when nothing is down). */
  health?: HealthProbe;
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface ApiServer {
  port: number;
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

class PayloadTooLarge extends Error {}

function errorBody(code: string, message: string, requestId: string, details?: Record<string, unknown>) {
  return JSON.stringify({ error: { code, message, ...(details ? { details } : {}), requestId } });
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string, requestId: string, extra: Record<string, string> = {}, details?: Record<string, unknown>) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(code, message, requestId, details);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    'apigw-requestid': requestId,
    ...extra,
  });
  res.end(body);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new PayloadTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.off('data', onData);
        reject(new PayloadTooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.once('error', (e) => {
      if (done) return;
      done = true;
      reject(e);
    });
  });
}

/** After a 413: discard (never buffer) what the client still sends, up to a cap, then hang up. */
function drainAndClose(req: http.IncomingMessage, res: http.ServerResponse) {
  let drained = 0;
  const cap = 16 * 1024 * 1024;
  req.on('data', (c: Buffer) => {
    drained += c.length;
    if (drained > cap) req.socket.destroy();
  });
  req.resume();
  res.once('finish', () => {
    const t = setTimeout(() => req.socket.destroy(), 2000);
    t.unref();
    req.once('end', () => clearTimeout(t));
  });
}

const isStructured = (r: unknown): r is APIGatewayProxyStructuredResultV2 =>
  typeof r === 'object' && r !== null && !Array.isArray(r) && typeof (r as { statusCode?: unknown }).statusCode === 'number';

/** Writes a Lambda result back the way API Gateway (payload 2.0) does. */
export function writeLambdaResult(res: http.ServerResponse, result: unknown, requestId: string): void {
  if (!isStructured(result)) {
    // No statusCode: API Gateway assumes 200, application/json, and the result as the body.
    const body = result === undefined ? '' : typeof result === 'string' ? result : JSON.stringify(result);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'apigw-requestid': requestId });
    res.end(body);
    return;
  }
  const headers: Record<string, string | string[]> = { 'apigw-requestid': requestId };
  for (const [k, v] of Object.entries(result.headers ?? {})) {
    if (v !== undefined) headers[k.toLowerCase()] = String(v);
  }
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  const body = result.body === undefined ? Buffer.alloc(0) : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
  if (!headers['content-type'] && body.length > 0) headers['content-type'] = 'application/json';
  headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode!, headers);
  res.end(body);
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const routes = opts.routes ?? ROUTES;
  const resolve = opts.resolveHandler ?? importHandler;
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => undefined);

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const requestId = newRequestId();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const rawPath = url.split('?')[0]!;
    const started = Date.now();
    res.once('finish', () => log(`${method} ${url} ${res.statusCode} ${Date.now() - started}ms`));

    // --- local-only: run a scheduled function now
    const invoke = /^\/_local\/invoke\/([^/]+)$/.exec(rawPath);
    if (invoke) {
      const fn = decodeURIComponent(invoke[1]!);
      if (method !== 'POST') return sendError(res, 404, 'not_found', `no route for ${method} ${rawPath}`, requestId);
      if (!isScheduledFunction(fn)) return sendError(res, 404, 'not_found', `no scheduled function ${fn} (try ${Object.keys(SCHEDULES).join(', ')})`, requestId);
      let detail: Record<string, unknown> = {};
      try {
        const body = await readBody(req, limit);
        if (body.length > 0) {
          const parsed: unknown = JSON.parse(body.toString('utf8'));
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
            return sendError(res, 400, 'validation_error', 'the body must be a JSON object (merged into the event detail)', requestId);
          }
          detail = parsed as Record<string, unknown>;
        }
      } catch (e) {
        if (e instanceof PayloadTooLarge) {
          drainAndClose(req, res);
          return sendError(res, 413, 'payload_too_large', `body over ${limit} bytes`, requestId, { connection: 'close' });
        }
        return sendError(res, 400, 'invalid_json', 'the body is not valid JSON', requestId);
      }
      try {
        const result = await invokeScheduled(fn, detail, resolve);
        const body = JSON.stringify(result ?? null);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId });
        res.end(body);
      } catch (e) {
        log(`${fn} failed: ${(e as Error)?.stack ?? String(e)}`);
        sendError(res, 500, 'internal_error', `${fn} failed: ${(e as Error)?.message ?? String(e)}`, requestId);
      }
      return;
    }

    // --- local-only health: every part must answer
    if (opts.health && rawPath === '/api/health' && (method === 'GET' || method === 'HEAD')) {
      req.resume();
      let down: string[];
      try {
        down = (await opts.health()).down;
      } catch (e) {
        down = [`health probe (${(e as Error).message})`];
      }
      if (down.length > 0) return sendError(res, 503, 'service_unavailable', `local stack part(s) down: ${down.join(', ')}`, requestId, {}, { down });
      const body = JSON.stringify({ status: 'ok' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }

    const { match, pathKnown } = matchRoute(routes, method, rawPath);
    if (!match) {
      req.resume();
      return sendError(res, 404, 'not_found', pathKnown ? `method ${method} not allowed on ${rawPath}` : `no route for ${method} ${rawPath}`, requestId);
    }

    // The authorizer runs before the integration (and before the body matters).
    let claims: Record<string, string> | undefined;
    if (match.route.auth) {
      const v = await verifyBearer(req.headers.authorization, opts.jwtSecret ?? localJwtSecret());
      if (!v.ok) {
        req.resume();
        return sendError(res, 401, 'unauthorized', v.message, requestId);
      }
      claims = flattenClaims(v.claims);
    }

    let body: Buffer;
    try {
      body = await readBody(req, limit);
    } catch (e) {
      if (e instanceof PayloadTooLarge) {
        drainAndClose(req, res);
        return sendError(res, 413, 'payload_too_large', `request body over ${limit} bytes`, requestId, { connection: 'close' });
      }
      return sendError(res, 400, 'invalid_request', 'could not read the request body', requestId);
    }

    const event = buildEvent(
      { method, url, rawHeaders: req.rawHeaders, body, sourceIp: req.socket.remoteAddress, httpVersion: req.httpVersion },
      match,
      { requestId, claims },
    );
    let result: unknown;
    try {
      const handler = await resolve(match.route.fn);
      result = await handler(event, lambdaContext(match.route.fn));
    } catch (e) {
      log(`${match.route.fn} threw: ${(e as Error)?.stack ?? String(e)}`);
      return sendError(res, 500, 'internal_error', 'internal error', requestId);
    }
    try {
      writeLambdaResult(res, result, requestId);
    } catch (e) {
      log(`${match.route.fn} returned an invalid response: ${(e as Error)?.message}`);
      sendError(res, 500, 'internal_error', 'the function returned an invalid response', requestId);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      log(`unexpected: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) sendError(res, 500, 'internal_error', 'internal error', newRequestId());
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${opts.port} is in use: set PORT to another port` : `cannot start the API on port ${opts.port}: ${e.message}`)),
    );
    server.listen(opts.port, host, () => resolveListen());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    close() {
      closing ??= new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      return closing;
    },
  };
}
