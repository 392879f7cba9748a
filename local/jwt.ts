/**
 * Local stand-in for the HTTP API's Cognito JWT authorizer: HS256 tokens signed with
 * RIFT_LOCAL_JWT_SECRET. Verification checks the signature, `exp` (required) and `nbf`
 * (when present) — nothing else, like the contract says.
 */
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';

export const DEFAULT_LOCAL_JWT_SECRET = 'rift-local-secret';

export const localJwtSecret = (env: NodeJS.ProcessEnv = process.env) => env.RIFT_LOCAL_JWT_SECRET || DEFAULT_LOCAL_JWT_SECRET;

const key = (secret: string) => new TextEncoder().encode(secret);

export interface MintTokenOptions {
  sub: string;
  /** `cognito:groups` (an array, as Cognito issues it); `['admin']` makes an admin. */
  groups?: string[];
  /** Lifetime in seconds (default 3600). Negative values mint an already expired token (tests). */
  ttlSeconds?: number;
  /** Defaults to RIFT_LOCAL_JWT_SECRET or `rift-local-secret`. */
  secret?: string;
  /** Extra claims (e.g. `email`). */
  claims?: Record<string, unknown>;
  /** Omit `exp` entirely (tests: the local authorizer must refuse it). */
  noExp?: boolean;
}

/** An HS256 JWT the local stack accepts: `sub`, `iat`, `exp`, and `cognito:groups` when groups are given. */
export async function mintToken(opts: MintTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { ...(opts.claims ?? {}) };
  if (opts.groups && opts.groups.length > 0) payload['cognito:groups'] = opts.groups;
  let jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(opts.sub).setIssuedAt(now);
  if (!opts.noExp) jwt = jwt.setExpirationTime(now + (opts.ttlSeconds ?? 3600));
  return jwt.sign(key(opts.secret ?? localJwtSecret()));
}

export type VerifyResult = { ok: true; claims: JWTPayload } | { ok: false; message: string };

/** Verifies `Authorization: Bearer <jwt>` the way the local stack does. Never throws. */
export async function verifyBearer(authorization: string | undefined, secret: string = localJwtSecret()): Promise<VerifyResult> {
  if (!authorization) return { ok: false, message: 'missing bearer token' };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return { ok: false, message: 'authorization header must be "Bearer <token>"' };
  try {
    const { payload } = await jwtVerify(m[1]!, key(secret), { algorithms: ['HS256'], requiredClaims: ['exp'] });
    return { ok: true, claims: payload };
  } catch (e) {
    const code = (e as { code?: string }).code;
    const message =
      code === 'ERR_JWT_EXPIRED'
        ? 'token expired'
        : code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
          ? 'invalid token signature'
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
            ? `invalid token: ${(e as Error).message}`
            : 'invalid token';
    return { ok: false, message };
  }
}

/**
 * Claims as API Gateway's JWT authorizer hands them to Lambda: strings stay strings, numbers
 * and booleans become strings, arrays become `"[a b]"`, objects become JSON.
 */
export function flattenClaims(claims: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(claims)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else if (Array.isArray(v)) out[k] = `[${v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')}]`;
    else out[k] = JSON.stringify(v);
  }
  return out;
}
