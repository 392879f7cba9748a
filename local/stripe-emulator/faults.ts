/**
 * Injected failures for the next N matching requests.
 * Path matching (query string ignored): `/v1/transfers` matches `/v1/transfers` and everything
 * under it (`/v1/transfers/tr_1`), but not `/v1/transfers_x`; a trailing `*` is a raw prefix
 * (`/v1/payment_intents/pi_1*`). Method `*` or none matches any method.
 */
export const FAULT_KINDS = ['error_500', 'timeout', 'commit_then_error_500', 'commit_then_timeout', 'delay'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const DEFAULT_HANG_MS = 30_000;

export interface Fault {
  id: number;
  method: string;
  path: string;
  fault: FaultKind;
  /** Matching requests still to fail. */
  times: number;
  /** How long `timeout`/`commit_then_timeout` hang and `delay` waits. */
  delayMs: number;
}

export class Faults {
  private list: Fault[] = [];
  private seq = 0;

  add(input: { method?: unknown; path?: unknown; fault?: unknown; times?: unknown; delayMs?: unknown }): Fault {
    const { method = '*', path, fault, times = 1, delayMs } = input;
    if (typeof method !== 'string') throw new Error('method must be a string');
    if (typeof path !== 'string' || !path.startsWith('/')) throw new Error('path must be a string starting with /');
    if (!FAULT_KINDS.includes(fault as FaultKind)) throw new Error(`fault must be one of ${FAULT_KINDS.join(', ')}`);
    if (!Number.isInteger(times) || (times as number) < 1) throw new Error('times must be a positive integer');
    if (delayMs !== undefined && (!Number.isInteger(delayMs) || (delayMs as number) < 0)) throw new Error('delayMs must be a non-negative integer');
    const f: Fault = {
      id: ++this.seq,
      method: method.toUpperCase(),
      path,
      fault: fault as FaultKind,
      times: times as number,
      delayMs: (delayMs as number | undefined) ?? (fault === 'delay' ? 1000 : DEFAULT_HANG_MS),
    };
    this.list.push(f);
    return f;
  }

  /** Consumes one use of the first fault matching the request, if any. */
  take(method: string, path: string): Fault | undefined {
    const f = this.list.find((x) => (x.method === '*' || x.method === method) && pathMatches(x.path, path));
    if (!f) return undefined;
    f.times--;
    if (f.times <= 0) this.list = this.list.filter((x) => x !== f);
    return { ...f };
  }

  all(): Fault[] {
    return this.list.map((f) => ({ ...f }));
  }

  reset(): void {
    this.list = [];
  }
}

export function pathMatches(pattern: string, path: string): boolean {
  if (pattern.endsWith('*')) return path.startsWith(pattern.slice(0, -1));
  const p = pattern.replace(/\/+$/, '');
  return path === p || path.startsWith(`${p}/`);
}
