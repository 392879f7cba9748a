/** Latency statistics and table formatting. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

export interface RunStats {
  ops: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

export function summarize(latenciesMs: number[], errors: number, seconds: number): RunStats {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return { ops: latenciesMs.length, errors, seconds, perSecond: latenciesMs.length / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Runs `total` jobs with at most `concurrency` in flight; each worker gets its own index range. */
export async function runWorkers(concurrency: number, perWorker: number, job: (worker: number, i: number) => Promise<boolean>) {
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; i < perWorker; i++) {
        const s = performance.now();
        const ok = await job(w, i);
        const d = performance.now() - s;
        if (ok) latencies.push(d);
        else errors++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { ...summarize(latencies, errors, seconds), latencies };
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

/** A GitHub-flavoured Markdown table (also readable as plain text). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}
