import { int, str } from '../params';
import type { FormObject } from '../form';
import type { Json, Store } from '../store';
import type { Webhooks } from '../webhooks';
import { paramError } from '../errors';

/** What a route handler gets. Handlers return the JSON body (status 200) or throw StripeApiError. */
export interface Ctx {
  params: FormObject;
  path: string[];
  store: Store;
  webhooks: Webhooks;
  requestId: string;
  idempotencyKey: string | null;
}

export type Handler = (ctx: Ctx) => Json;

export interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handler: Handler;
}

/** Stripe list object, newest first, with `limit` (1–100, default 10) and `starting_after`. */
export function list<T extends Json & { id: string }>(items: Iterable<T>, params: FormObject, url: string): Json {
  const limit = int(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100) throw paramError('invalid_request', 'This value must be between 1 and 100.', 'limit');
  let all = [...items].reverse();
  const after = str(params, 'starting_after');
  if (after) {
    const i = all.findIndex((x) => x.id === after);
    all = i >= 0 ? all.slice(i + 1) : [];
  }
  return { object: 'list', data: all.slice(0, limit), has_more: all.length > limit, url };
}

/** `expand[]=latest_charge`, `expand[]=data.charge`: replaces id strings with the stored objects. */
export function applyExpand(body: Json, paths: string[], store: Store): Json {
  let out = body;
  for (const p of paths) out = expandPath(out, p.split('.'), store) as Json;
  return out;
}

function expandPath(value: unknown, path: string[], store: Store): unknown {
  if (path.length === 0) return value;
  if (Array.isArray(value)) return value.map((v) => expandPath(v, path, store));
  if (!value || typeof value !== 'object') return value;
  const [head, ...rest] = path as [string, ...string[]];
  const obj = { ...(value as Json) };
  let child = obj[head];
  if (typeof child === 'string') child = store.find(child) ?? child;
  obj[head] = expandPath(child, rest, store);
  return obj;
}
