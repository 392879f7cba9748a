import { describe, expect, it } from 'vitest';
import type { SnapshotRecord } from '../../../functions/adapters/balance-store';
import { chartGeometry, niceCeil, seriesFor, type ChartPoint } from '../../../functions/dashboard/chart';

const snap = (checkedAt: string, usd: number | null, ok = true, threshold = 100_000): SnapshotRecord => ({
  snapshotId: `s_${checkedAt}`,
  checkedAt,
  ok,
  trigger: 'schedule',
  thresholds: { USD: threshold / 100 },
  balances: usd === null ? [] : [{ currency: 'usd', available: usd, pending: 0, threshold, level: 'ok' }],
});

const pts = (s: string) => s.trim().split(/\s+/).map((p) => p.split(',').map(Number) as [number, number]);

describe('trend chart', () => {
  it('takes the successful snapshots that have the currency, oldest first', () => {
    const series = seriesFor(
      [snap('2026-01-01T03:00:00Z', 300), snap('2026-01-01T02:00:00Z', 0, false), snap('2026-01-01T01:00:00Z', 100), snap('2026-01-01T00:30:00Z', null)],
      'USD',
    );
    expect(series.map((p) => p.available)).toEqual([100, 300]);
    expect(seriesFor([snap('bad date', 1)], 'usd')).toEqual([]);
  });

  it('rounds the axis up to a nice number', () => {
    expect(niceCeil(0)).toBe(0);
    expect(niceCeil(1.1)).toBe(2);
    expect(niceCeil(230)).toBe(250);
    expect(niceCeil(1_100_000)).toBe(2_000_000);
    expect(niceCeil(10)).toBe(10);
  });

  it('draws the balance and the threshold over time inside the plot, higher values higher', () => {
    const points: ChartPoint[] = [0, 1, 2, 3].map((i) => ({ t: i * 3600_000, iso: new Date(i * 3600_000).toISOString(), available: 100_000 * (4 - i), threshold: 100_000 }));
    const g = chartGeometry(points);
    const line = pts(g.line);
    const thr = pts(g.threshold);
    expect(line).toHaveLength(4);
    expect(thr).toHaveLength(4);
    for (const [x, y] of [...line, ...thr]) {
      expect(x).toBeGreaterThanOrEqual(g.plot.left);
      expect(x).toBeLessThanOrEqual(g.plot.right);
      expect(y).toBeGreaterThanOrEqual(g.plot.top);
      expect(y).toBeLessThanOrEqual(g.plot.bottom);
    }
    expect(line[0]![0]).toBe(g.plot.left);
    expect(line[3]![0]).toBe(g.plot.right);
    // falling balance: y grows (SVG y points down)
    expect(line[0]![1]).toBeLessThan(line[3]![1]);
    // constant threshold: a horizontal line
    expect(new Set(thr.map(([, y]) => y)).size).toBe(1);
    expect(g.yTicks.map((t) => t.value)).toEqual([0, 250_000, 500_000]);
    expect(g.xLabels.map((l) => l.anchor)).toEqual(['start', 'end']);
    expect(g.area).not.toBe('');
  });

  it('spaces points evenly when they share a timestamp, draws one point and a full-width threshold', () => {
    const same = chartGeometry([
      { t: 5, iso: 'x', available: 1, threshold: 2 },
      { t: 5, iso: 'x', available: 2, threshold: 2 },
    ]);
    expect(pts(same.line).map(([x]) => x)).toEqual([same.plot.left, same.plot.right]);
    const one = chartGeometry([{ t: 5, iso: '2026-01-01T00:00:00Z', available: 50, threshold: 100 }]);
    expect(pts(one.threshold).map(([x]) => x)).toEqual([one.plot.left, one.plot.right]);
    expect(one.dots).toHaveLength(1);
    expect(one.xLabels).toEqual([{ x: (one.plot.left + one.plot.right) / 2, iso: '2026-01-01T00:00:00Z', anchor: 'middle' }]);
  });

  it('keeps a negative balance inside the plot, with a zero line', () => {
    const g = chartGeometry([
      { t: 0, iso: 'a', available: -500, threshold: 1000 },
      { t: 1, iso: 'b', available: 800, threshold: 1000 },
    ]);
    for (const [, y] of pts(g.line)) expect(y).toBeLessThanOrEqual(g.plot.bottom);
    expect(g.yTicks.map((t) => t.value)).toContain(0);
    expect(g.yTicks[0]!.value).toBeLessThan(0);
  });
});
