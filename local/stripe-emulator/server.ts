/**
 * The HTTP pipeline: request id -> control routes | auth -> route -> injected fault ->
 * idempotency -> handler -> response. node:http only.
 */
import http from 'node:http';
import { applyExpand, type Ctx } from './api/context';
import { matchRoute } from './api/routes';
import { handleControl } from './control';
import { StripeApiError, apiError, type StripeErrorBody } from './errors';
import { Faults, type Fault } from './faults';
import { canonical, parseForm, type FormObject } from './form';
import { IdempotencyKeys } from './idempotency';
import { newId } from './ids';
import { expand } from './params';
import { Store, type Json } from './store';
import { API_VERSION, Webhooks } from './webhooks';

const MAX_BODY = 1024 * 1024;

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class EmulatorCore {
  readonly store = new Store();
  readonly faults = new Faults();
  readonly idempotency = new IdempotencyKeys();
  readonly webhooks: Webhooks;
  /** Timers of hanging/delayed requests, cleared on close so they never keep the process alive. */
  private timers = new Set<NodeJS.Timeout>();

  constructor(webhookUrl: string | undefined, webhookSecret: string) {
    this.webhooks = new Webhooks(webhookUrl, webhookSecret);
  }

  reset(): void {
    this.store.reset();
    this.faults.reset();
    this.idempotency.reset();
    this.webhooks.reset();
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.webhooks.close();
  }

  readonly listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const requestId = newId('req', 14);
    res.setHeader('request-id', requestId);
    this.handle(req, res, requestId).catch((e: unknown) => {
      // Last resort: a bug in the emulator is a Stripe 500, never a crash.
      if (!res.headersSent) send(res, { status: 500, body: { error: apiError(`Emulator error: ${(e as Error).message}`).body } });
      else res.destroy();
    });
  };

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, requestId: string): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const raw = await readBody(req);
    if (raw === undefined) return send(res, errorReply(new StripeApiError(413, { type: 'invalid_request_error', message: 'Request body too large' })));

    if (path.startsWith('/_emulator/')) {
      try {
        return send(res, await handleControl(this, method, path, raw));
      } catch (e) {
        return send(res, errorReply(e));
      }
    }

    const auth = checkAuth(req.headers.authorization);
    if (auth.error) return send(res, errorReply(auth.error));

    const idemKey = method === 'POST' ? headerValue(req.headers['idempotency-key']) : undefined;
    const baseHeaders: Record<string, string> = { 'stripe-version': headerValue(req.headers['stripe-version']) ?? API_VERSION };
    if (idemKey) baseHeaders['idempotency-key'] = idemKey;
    for (const [k, v] of Object.entries(baseHeaders)) res.setHeader(k, v);

    const fault = this.faults.take(method, path);
    if (fault?.fault === 'error_500') return send(res, errorReply(apiError()));
    if (fault?.fault === 'timeout') return this.hang(res, fault);

    const params: FormObject = method === 'POST' ? parseForm(raw) : parseForm(url.search.slice(1));
    const matched = matchRoute(method, path);
    if (!matched) {
      return send(res, errorReply(new StripeApiError(404, {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      })));
    }

    let reply: Reply;
    if (idemKey) {
      const scope = auth.key;
      const begin = this.idempotency.begin(scope, idemKey, method, path, canonical(params));
      if (begin.kind === 'replay') {
        reply = { status: begin.response.status, body: begin.response.body, headers: { 'idempotent-replayed': 'true', 'original-request': begin.response.requestId } };
      } else if (begin.kind === 'in_use') {
        return send(res, {
          ...errorReply(new StripeApiError(409, {
            type: 'invalid_request_error',
            code: 'idempotency_key_in_use',
            message: 'There is currently another in-progress request using this Stripe-Idempotency-Key. Please try again later.',
          })),
          headers: { 'stripe-should-retry': 'true' },
        });
      } else if (begin.kind === 'mismatch') {
        return send(res, errorReply(new StripeApiError(400, { type: 'idempotency_error', message: begin.message })));
      } else {
        if (fault?.fault === 'delay') await this.sleep(fault.delayMs);
        const { reply: r, save } = this.run(matched.route.handler, { params, path: matched.args, store: this.store, webhooks: this.webhooks, requestId, idempotencyKey: idemKey });
        reply = r;
        // Saved as JSON text so later mutations of the live object don't leak into replays.
        if (save) this.idempotency.save(scope, idemKey, { status: r.status, body: JSON.parse(JSON.stringify(r.body)) as Json, requestId });
        else this.idempotency.release(scope, idemKey);
      }
    } else {
      if (fault?.fault === 'delay') await this.sleep(fault.delayMs);
      reply = this.run(matched.route.handler, { params, path: matched.args, store: this.store, webhooks: this.webhooks, requestId, idempotencyKey: null }).reply;
    }

    // The work is done (and saved under the key); the client never hears of it.
    if (fault?.fault === 'commit_then_error_500') return send(res, errorReply(apiError()));
    if (fault?.fault === 'commit_then_timeout') return this.hang(res, fault);
    send(res, reply);
  }

  private run(handler: (ctx: Ctx) => Json, ctx: Ctx): { reply: Reply; save: boolean } {
    try {
      const body = handler(ctx);
      return { reply: { status: 200, body: applyExpand(body, expand(ctx.params), this.store) }, save: true };
    } catch (e) {
      const save = e instanceof StripeApiError ? e.saveIdempotent : false;
      return { reply: errorReply(e), save };
    }
  }

  /** Holds the request without answering, then drops the connection (a Stripe that never replies). */
  private hang(res: http.ServerResponse, fault: Fault): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      res.socket?.destroy();
    }, fault.delayMs);
    this.timers.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

function checkAuth(header: string | undefined): { key: string; error?: undefined } | { key?: undefined; error: StripeApiError } {
  let key: string | undefined;
  if (header?.startsWith('Bearer ')) key = header.slice(7).trim();
  else if (header?.startsWith('Basic ')) key = Buffer.from(header.slice(6), 'base64').toString().split(':')[0];
  if (!key) {
    return {
      error: new StripeApiError(401, {
        type: 'invalid_request_error',
        message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
      }),
    };
  }
  if (!/^(sk|rk)_/.test(key)) {
    return { error: new StripeApiError(401, { type: 'invalid_request_error', message: `Invalid API Key provided: ${key.slice(0, 8)}****` }) };
  }
  return { key };
}

function errorReply(e: unknown): Reply {
  if (e instanceof StripeApiError) return { status: e.status, body: { error: e.body satisfies StripeErrorBody } };
  return { status: 500, body: { error: apiError(`Emulator error: ${(e as Error)?.message ?? String(e)}`).body } };
}

function send(res: http.ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body, null, 2);
  res.writeHead(reply.status, {
    ...reply.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-cache, no-store',
  });
  res.end(text);
}

function headerValue(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** Resolves undefined when the body is over MAX_BODY. */
function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooBig ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
