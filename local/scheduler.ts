/**
 * The EventBridge schedule, locally: balance-monitor every BALANCE_MONITOR_RATE_MINUTES (30)
 * and the reconciler every 5 minutes, through the same invoke path as `POST /_local/invoke`.
 * A failing run is logged and never stops the stack; a run still going is not started twice.
 */
import { SCHEDULES, type ScheduledFunctionName } from '../functions/routes';

export interface Scheduler {
  stop(): void;
}

export interface SchedulerOptions {
  invoke: (fn: ScheduledFunctionName) => Promise<unknown>;
  /** Minutes per function; defaults from SCHEDULES and BALANCE_MONITOR_RATE_MINUTES. */
  rateMinutes?: Partial<Record<ScheduledFunctionName, number>>;
  log?: (line: string) => void;
}

export function scheduleRates(env: NodeJS.ProcessEnv = process.env): Record<ScheduledFunctionName, number> {
  const bm = Number(env.BALANCE_MONITOR_RATE_MINUTES);
  return {
    'balance-monitor': Number.isFinite(bm) && bm > 0 ? bm : SCHEDULES['balance-monitor'].rateMinutes,
    reconciler: SCHEDULES.reconciler.rateMinutes,
  };
}

export function startScheduler(opts: SchedulerOptions): Scheduler {
  const log = opts.log ?? ((l: string) => console.log(l));
  const rates = { ...scheduleRates(), ...(opts.rateMinutes ?? {}) };
  const running = new Set<ScheduledFunctionName>();
  let stopped = false;
  const timers = (Object.keys(rates) as ScheduledFunctionName[]).map((fn) => {
    const t = setInterval(() => {
      if (stopped || running.has(fn)) return;
      running.add(fn);
      opts
        .invoke(fn)
        .then((r) => log(`[schedule] ${fn}: ${JSON.stringify(r)?.slice(0, 300)}`))
        .catch((e) => log(`[schedule] ${fn} failed: ${(e as Error)?.message ?? String(e)}`))
        .finally(() => running.delete(fn));
    }, rates[fn] * 60_000);
    t.unref();
    return t;
  });
  return {
    stop() {
      stopped = true;
      timers.forEach(clearInterval);
    },
  };
}
