import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Logger } from '@aws-lambda-powertools/logger';
import { isRiftError, RiftError } from '../core/errors';
import { ROUTES, routeKey } from '../routes';
import { loadConfig, type Config } from '../adapters/config';
import { logger } from './logger';
import { errorResult, jsonResult } from './response';
import { callerFrom, idempotencyKeyOf, parseJsonBody, parseWith, rawBody, type Caller, type Schema } from './request';

export { parseWith, type Caller } from './request';
export { logger } from './logger';

export interface HttpRequest {
  event: APIGatewayProxyEventV2;
  context: Context;
  config: Config;
  requestId: string;
  caller: Caller | null;
  /** The parsed JSON body, read lazily so that 404/403 come before 400/413 (the contract's order). */
  readonly body: unknown;
  pathParameters: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  logger: Logger;
  /** The validated `Idempotency-Key`, or undefined (throws 400 when malformed). */
  idempotencyKey(): string | undefined;
  /**
   * Runs the rest of the request under its `Idempotency-Key` (when one was sent). Call it after
   * authorization and validation, before business rules: 4xx answers inside are saved and replayed.
   */
  idempotent(run: () => Promise<HttpResult>): Promise<HttpResult>;
}

export interface HttpResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A finished API Gateway answer (a replay); passed through as is. */
  raw?: APIGatewayProxyStructuredResultV2;
}

export type RouteHandler = (req: HttpRequest) => Promise<HttpResult>;
export interface RouteOptions {
  /** `auto` (default for POST/PUT): the whole handler runs under the key; `manual`: the handler calls `req.idempotent`. */
  idempotency?: 'auto' | 'manual' | 'none';
}
export type RouteEntry = RouteHandler | [RouteHandler, RouteOptions];

export function parseBody<T>(schema: Schema<T>, body: unknown): T {
  return parseWith(schema, body);
}

export function requireCaller(req: HttpRequest): Caller {
  if (!req.caller) throw new RiftError('unauthorized', 'a valid bearer token is required');
  return req.caller;
}

export function requireAdmin(req: HttpRequest): Caller {
  const c = requireCaller(req);
  if (!c.isAdmin) throw new RiftError('forbidden', 'admins only');
  return c;
}

const toResult = (requestId: string, r: HttpResult): APIGatewayProxyStructuredResultV2 =>
  r.raw ?? (r.body === undefined ? { statusCode: r.status, headers: { 'x-request-id': requestId, ...(r.headers ?? {}) } } : jsonResult(requestId, r.status, r.body, r.headers));

const toError = (requestId: string, e: unknown): APIGatewayProxyStructuredResultV2 => {
  if (isRiftError(e)) {
    // `message` is a reserved key in Powertools Logger (it would be dropped): log it as `reason`.
    if (e.status >= 500) logger.error('request failed', { code: e.code, reason: e.message });
    return errorResult(requestId, e);
  }
  logger.error('unexpected error', { error: e as Error });
  return errorResult(requestId, new RiftError('internal_error', 'internal error'));
};

const AUTH_ROUTES = new Set(ROUTES.filter((r) => r.auth).map(routeKey));

/**
 * Builds a Lambda handler for one function's routes: request id, caller, lazy JSON body,
 * idempotency, and one mapping of every thrown error to the contract's error shape.
 */
export function httpHandler(routes: Record<string, RouteEntry>) {
  const base = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = event.requestContext?.requestId ?? context?.awsRequestId ?? `req_${Date.now()}`;
    const entry = routes[event.routeKey];
    if (!entry) return errorResult(requestId, new RiftError('not_found', `no route ${event.routeKey}`));
    const [handler, options] = Array.isArray(entry) ? entry : [entry, {} as RouteOptions];
    const method = event.requestContext?.http?.method ?? event.routeKey.split(' ')[0] ?? 'GET';
    const mode = options.idempotency ?? (method === 'POST' || method === 'PUT' ? 'auto' : 'none');
    const config = loadConfig();
    const caller = callerFrom(event);
    logger.appendKeys({ requestId, riftId: event.pathParameters?.riftId });
    let body: unknown;
    let bodyRead = false;
    const req: HttpRequest = {
      event,
      context,
      config,
      requestId,
      caller,
      get body() {
        if (!bodyRead) {
          body = parseJsonBody(event);
          bodyRead = true;
        }
        return body;
      },
      pathParameters: (event.pathParameters ?? {}) as Record<string, string>,
      query: (event.queryStringParameters ?? {}) as Record<string, string>,
      headers: (event.headers ?? {}) as Record<string, string>,
      logger,
      idempotencyKey: () => idempotencyKeyOf(event),
      async idempotent(run) {
        const key = idempotencyKeyOf(event);
        if (!key || !caller) return run();
        // The hash covers the parsed body (key order and spacing do not matter); a body that is not
        // JSON is hashed as its text, and its 400 is saved like any answer below 500.
        let payload: unknown;
        try {
          payload = req.body;
        } catch {
          payload = rawBody(event) ?? null;
        }
        // Loaded on first use: a request without a key never pays for the idempotency layer's import.
        const { runIdempotent } = await import('./idempotency');
        const raw = await runIdempotent(
          config,
          { sub: caller.sub, method, path: event.rawPath, key, payload, context },
          async () => {
            try {
              return toResult(requestId, await run());
            } catch (e) {
              return toError(requestId, e);
            }
          },
        );
        return { status: raw.statusCode ?? 200, raw };
      },
    };
    try {
      if (AUTH_ROUTES.has(event.routeKey)) requireCaller(req);
      const result = mode === 'auto' ? await req.idempotent(() => handler(req)) : await handler(req);
      return toResult(requestId, result);
    } catch (e) {
      return toError(requestId, e);
    } finally {
      logger.removeKeys(['requestId', 'riftId']);
    }
  };
  return middy(base).use(injectLambdaContext(logger));
}
