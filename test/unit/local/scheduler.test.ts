import { afterEach, describe, expect, it, vi } from 'vitest';
import { scheduleRates, startScheduler } from '../../../local/scheduler';

afterEach(() => {
  vi.useRealTimers();
});

describe('local scheduler', () => {
  it('defaults: balance monitor every 30 min (BALANCE_MONITOR_RATE_MINUTES), reconciler every 5', () => {
    expect(scheduleRates({})).toEqual({ 'balance-monitor': 30, reconciler: 5 });
    expect(scheduleRates({ BALANCE_MONITOR_RATE_MINUTES: '2' })).toEqual({ 'balance-monitor': 2, reconciler: 5 });
    expect(scheduleRates({ BALANCE_MONITOR_RATE_MINUTES: 'nope' })['balance-monitor']).toBe(30);
  });

  it('runs each function at its rate, survives failures, stops cleanly', async () => {
    vi.useFakeTimers();
    const runs: string[] = [];
    const logs: string[] = [];
    const s = startScheduler({
      rateMinutes: { 'balance-monitor': 30, reconciler: 5 },
      invoke: async (fn) => {
        runs.push(fn);
        if (fn === 'reconciler' && runs.length === 1) throw new Error('first run fails');
        return { ok: true };
      },
      log: (l) => logs.push(l),
    });
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(runs).toEqual(['reconciler']);
    expect(logs.some((l) => l.includes('reconciler failed: first run fails'))).toBe(true);
    await vi.advanceTimersByTimeAsync(25 * 60_000);
    expect(runs.filter((r) => r === 'reconciler')).toHaveLength(6);
    expect(runs.filter((r) => r === 'balance-monitor')).toHaveLength(1);
    s.stop();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(runs).toHaveLength(7);
  });

  it('does not start a run while the previous one of the same function is still going', async () => {
    vi.useFakeTimers();
    let calls = 0;
    let release!: () => void;
    const s = startScheduler({
      rateMinutes: { 'balance-monitor': 1000, reconciler: 1 },
      invoke: () => {
        calls++;
        return new Promise((r) => (release = () => r(undefined)));
      },
      log: () => undefined,
    });
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(calls).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(2);
    s.stop();
  });
});
