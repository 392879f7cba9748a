/** The admin API as the page uses it: same origin, bearer token, the contract's error shape. */
import type { AlertRecord, SnapshotRecord } from '../adapters/balance-store';
import type { BalanceSummary, Thresholds } from '../core/balance';

export interface ApiIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly requestId?: string,
  ) {
    super(message);
  }

  get issues(): ApiIssue[] {
    const issues = this.details?.issues;
    return Array.isArray(issues) ? (issues as ApiIssue[]).filter((i) => i && typeof i.path === 'string') : [];
  }
}

export interface RunResult {
  summary: BalanceSummary;
  alerts: AlertRecord[];
  emailed: boolean;
  emailError?: string;
}

export function createApi(getToken: () => string | null, base = '') {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = getToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers,
        credentials: 'omit',
        cache: 'no-store',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw new ApiError(0, 'network_error', `the API could not be reached (${(e as Error).message})`);
    }
    let json: unknown = null;
    const text = await res.text();
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown>; requestId?: string } } | null)?.error;
      throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? `${res.status} ${res.statusText}`, err?.details, err?.requestId ?? res.headers.get('x-request-id') ?? undefined);
    }
    return json as T;
  }

  return {
    summary: () => call<BalanceSummary>('GET', '/api/admin/stripe-balance'),
    checkNow: () => call<RunResult>('POST', '/api/admin/stripe-balance', {}),
    history: (limit = 100) => call<{ snapshots: SnapshotRecord[] }>('GET', `/api/admin/stripe-balance/history?limit=${limit}`),
    alerts: (limit = 20) => call<{ alerts: AlertRecord[] }>('GET', `/api/admin/alerts?limit=${limit}`),
    thresholds: () => call<{ thresholds: Thresholds }>('GET', '/api/admin/thresholds'),
    putThresholds: (thresholds: Record<string, unknown>) => call<{ thresholds: Thresholds }>('PUT', '/api/admin/thresholds', { thresholds }),
  };
}

export type Api = ReturnType<typeof createApi>;
