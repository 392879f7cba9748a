import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { RiftError } from '../core/errors';

/** What the HTTP layer needs of a schema (zod/mini and classic zod both fit). */
export interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

export const MAX_BODY_BYTES = 64 * 1024;

export interface Caller {
  sub: string;
  isAdmin: boolean;
}

type Claims = Record<string, string | number | boolean | string[] | undefined>;

/** `cognito:groups` arrives as an array, or from API Gateway as the string "[admin ops]". */
export function parseGroups(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw !== 'string') return [];
  const s = raw.trim().replace(/^\[/, '').replace(/\]$/, '');
  return s.split(/[\s,]+/).filter(Boolean);
}

export function callerFrom(event: APIGatewayProxyEventV2): Caller | null {
  const ctx = event.requestContext as APIGatewayProxyEventV2['requestContext'] & { authorizer?: { jwt?: { claims?: Claims } } };
  const claims = ctx.authorizer?.jwt?.claims;
  const sub = claims?.sub;
  if (typeof sub !== 'string' || sub === '') return null;
  return { sub, isAdmin: parseGroups(claims?.['cognito:groups']).includes('admin') };
}

/** The raw body as text, checked against the contract's 64 KiB limit. */
export function rawBody(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) throw new RiftError('payload_too_large', `body is over ${MAX_BODY_BYTES} bytes`);
  return text;
}

/** JSON in: a body must be JSON (content-type application/json or +json); no body reads as `{}`. */
export function parseJsonBody(event: APIGatewayProxyEventV2): unknown {
  const text = rawBody(event);
  if (text === undefined) return {};
  const ct = (event.headers?.['content-type'] ?? '').toLowerCase();
  if (ct && !/^application\/([\w.+-]*\+)?json\b/.test(ct)) {
    throw new RiftError('validation_error', 'content-type must be application/json', {
      issues: [{ path: 'content-type', message: `unsupported content-type ${ct.slice(0, 100)}` }],
    });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new RiftError('invalid_json', 'the body is not valid JSON');
  }
}

export function zodIssues(err: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }) {
  return err.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
}

/** Validates with zod; a failure is `400 validation_error` with `details.issues`. */
export function parseWith<T>(schema: Schema<T>, value: unknown, what = 'body'): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new RiftError('validation_error', `invalid ${what}`, { issues: zodIssues(r.error) });
  return r.data;
}

/** The `Idempotency-Key` header: absent is fine (unless required), present must be 1–255 chars. */
export function idempotencyKeyOf(event: APIGatewayProxyEventV2): string | undefined {
  const k = event.headers?.['idempotency-key'];
  if (k === undefined) return undefined;
  if (k.length < 1 || k.length > 255) {
    throw new RiftError('validation_error', 'Idempotency-Key must be 1 to 255 characters', {
      issues: [{ path: 'Idempotency-Key', message: 'must be 1 to 255 characters' }],
    });
  }
  return k;
}
