/**
 * Stripe's idempotency layer: the first response for a key is saved (errors included) and
 * replayed for 24 h; a key reused with other params or on another endpoint is an
 * idempotency_error; a key whose first request is still running gets 409.
 */
import type { Json } from './store';

const TTL_MS = 24 * 60 * 60 * 1000;

export interface SavedResponse {
  status: number;
  body: Json;
  requestId: string;
}

interface Entry {
  method: string;
  path: string;
  params: string;
  expiresAt: number;
  response?: SavedResponse;
}

export type Begin =
  | { kind: 'new' }
  | { kind: 'replay'; response: SavedResponse }
  | { kind: 'in_use' }
  | { kind: 'mismatch'; message: string };

export class IdempotencyKeys {
  private entries = new Map<string, Entry>();

  begin(scope: string, key: string, method: string, path: string, params: string): Begin {
    this.purge();
    const id = `${scope}\n${key}`;
    const e = this.entries.get(id);
    if (!e) {
      this.entries.set(id, { method, path, params, expiresAt: Date.now() + TTL_MS });
      return { kind: 'new' };
    }
    if (e.method !== method || e.path !== path) {
      return {
        kind: 'mismatch',
        message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${e.method} ${e.path}' vs '${method} ${path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
      };
    }
    if (e.params !== params) {
      return {
        kind: 'mismatch',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      };
    }
    if (!e.response) return { kind: 'in_use' };
    return { kind: 'replay', response: e.response };
  }

  save(scope: string, key: string, response: SavedResponse): void {
    const e = this.entries.get(`${scope}\n${key}`);
    if (e) e.response = response;
  }

  /** Forget a key whose request did no work (bad params, crash), as Stripe does. */
  release(scope: string, key: string): void {
    this.entries.delete(`${scope}\n${key}`);
  }

  reset(): void {
    this.entries.clear();
  }

  private purge(): void {
    const now = Date.now();
    for (const [id, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(id);
  }
}
