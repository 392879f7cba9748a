/**
 * The trend chart: the geometry is pure (unit-tested), the SVG is built with DOM calls only
 * (no markup strings), so it works under the page's Trusted Types CSP.
 */
import type { SnapshotRecord } from '../adapters/balance-store';
import { formatAxisTime, formatMoney, formatMoneyCompact } from './format';

export interface ChartPoint {
  /** ms since the epoch */
  t: number;
  iso: string;
  available: number;
  /** minor units */
  threshold: number;
}

/** The successful snapshots that have this currency, oldest first. */
export function seriesFor(snapshots: readonly SnapshotRecord[], currency: string): ChartPoint[] {
  const cur = currency.toLowerCase();
  const points: ChartPoint[] = [];
  for (const s of snapshots) {
    if (!s.ok) continue;
    const row = s.balances?.find((b) => b.currency?.toLowerCase() === cur);
    if (!row || typeof row.available !== 'number' || typeof row.threshold !== 'number') continue;
    const t = Date.parse(s.checkedAt);
    if (Number.isNaN(t)) continue;
    points.push({ t, iso: s.checkedAt, available: row.available, threshold: row.threshold });
  }
  return points.sort((a, b) => a.t - b.t);
}

/** The smallest "nice" number (1, 2, 2.5, 5 x 10^n) at or above v. */
export function niceCeil(v: number): number {
  if (v <= 0) return 0;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export interface ChartGeometry {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  /** `x,y x,y …` for the available balance. */
  line: string;
  /** The same, closed down to the baseline (the shaded area). */
  area: string;
  /** The threshold over the same times (a horizontal line unless it changed). */
  threshold: string;
  dots: { x: number; y: number }[];
  yTicks: { y: number; value: number }[];
  xLabels: { x: number; iso: string; anchor: 'start' | 'middle' | 'end' }[];
}

const r1 = (n: number) => Math.round(n * 10) / 10;

export function chartGeometry(points: readonly ChartPoint[], width = 320, height = 150): ChartGeometry {
  const plot = { left: 46, top: 10, right: width - 10, bottom: height - 22 };
  const values = points.flatMap((p) => [p.available, p.threshold]);
  const yMax = niceCeil(Math.max(1, ...values) * 1.1);
  const lowest = Math.min(0, ...values);
  const yMin = lowest < 0 ? -niceCeil(-lowest * 1.1) : 0;
  const tMin = points.length ? points[0]!.t : 0;
  const tMax = points.length ? points[points.length - 1]!.t : 0;
  const span = tMax - tMin;
  const x = (p: ChartPoint, i: number) => {
    if (points.length === 1) return (plot.left + plot.right) / 2;
    const f = span > 0 ? (p.t - tMin) / span : i / (points.length - 1);
    return plot.left + f * (plot.right - plot.left);
  };
  const y = (v: number) => plot.bottom - ((v - yMin) / (yMax - yMin)) * (plot.bottom - plot.top);
  const xy = points.map((p, i) => ({ x: r1(x(p, i)), y: r1(y(p.available)), ty: r1(y(p.threshold)) }));
  const line = xy.map((p) => `${p.x},${p.y}`).join(' ');
  const base = r1(y(Math.max(yMin, 0)));
  const area = xy.length > 1 ? `${xy[0]!.x},${base} ${line} ${xy[xy.length - 1]!.x},${base}` : '';
  // One point: draw the threshold across the whole plot so it is still visible.
  const threshold =
    xy.length === 1 ? `${plot.left},${xy[0]!.ty} ${plot.right},${xy[0]!.ty}` : xy.map((p) => `${p.x},${p.ty}`).join(' ');
  const tickValues = yMin < 0 ? [yMin, 0, yMax] : [0, yMax / 2, yMax];
  const yTicks = tickValues.map((value) => ({ y: r1(y(value)), value }));
  const xLabels: ChartGeometry['xLabels'] = [];
  if (points.length === 1) xLabels.push({ x: xy[0]!.x, iso: points[0]!.iso, anchor: 'middle' });
  else if (points.length > 1) {
    xLabels.push({ x: xy[0]!.x, iso: points[0]!.iso, anchor: 'start' });
    xLabels.push({ x: xy[xy.length - 1]!.x, iso: points[points.length - 1]!.iso, anchor: 'end' });
  }
  return { width, height, plot, line, area, threshold, dots: xy.map(({ x: px, y: py }) => ({ x: px, y: py })), yTicks, xLabels };
}

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A `<figure>` with the SVG chart, or a short note when there is nothing to draw yet. */
export function renderChart(points: readonly ChartPoint[], currency: string, idPrefix: string): HTMLElement {
  const code = currency.toUpperCase();
  const figure = document.createElement('figure');
  figure.className = 'chart';
  if (points.length === 0) {
    const p = document.createElement('p');
    p.className = 'chart-empty';
    p.textContent = `No stored checks for ${code} yet. Press “Check now” or wait for the scheduled monitor.`;
    figure.append(p);
    return figure;
  }
  const g = chartGeometry(points);
  const span = points[points.length - 1]!.t - points[0]!.t;
  const last = points[points.length - 1]!;
  const titleId = `${idPrefix}-title`;
  const descId = `${idPrefix}-desc`;
  const root = svg('svg', { viewBox: `0 0 ${g.width} ${g.height}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}` });
  root.append(svg('title', { id: titleId }, `${code} available balance trend`));
  root.append(
    svg(
      'desc',
      { id: descId },
      `${points.length} check${points.length === 1 ? '' : 's'} from ${points[0]!.iso} to ${last.iso}. ` +
        `Latest available ${formatMoney(last.available, code)}, threshold ${formatMoney(last.threshold, code)}. ` +
        `Range ${formatMoney(Math.min(...points.map((p) => p.available)), code)} to ${formatMoney(Math.max(...points.map((p) => p.available)), code)}.`,
    ),
  );
  for (const t of g.yTicks) {
    root.append(svg('line', { class: 'chart-grid', x1: g.plot.left, x2: g.plot.right, y1: t.y, y2: t.y }));
    root.append(svg('text', { class: 'chart-axis', x: g.plot.left - 6, y: t.y + 3, 'text-anchor': 'end' }, formatMoneyCompact(t.value, code)));
  }
  for (const l of g.xLabels) {
    root.append(svg('text', { class: 'chart-axis', x: l.x, y: g.height - 6, 'text-anchor': l.anchor }, formatAxisTime(l.iso, span)));
  }
  if (g.area) root.append(svg('polygon', { class: 'chart-area', points: g.area }));
  root.append(svg('polyline', { class: 'chart-threshold', points: g.threshold, 'data-series': 'threshold' }));
  if (points.length > 1) root.append(svg('polyline', { class: 'chart-line', points: g.line, 'data-series': 'available' }));
  const lastDot = g.dots[g.dots.length - 1]!;
  // Dots only where they stay readable; the latest check is always marked.
  const dots = g.dots.length <= 24 ? g.dots : [lastDot];
  for (const d of dots) root.append(svg('circle', { class: 'chart-dot', cx: d.x, cy: d.y, r: 2.75 }));
  figure.append(root);

  const cap = document.createElement('figcaption');
  const item = (cls: string, text: string) => {
    const s = document.createElement('span');
    const sw = document.createElement('span');
    sw.className = cls;
    sw.setAttribute('aria-hidden', 'true');
    s.append(sw, text);
    return s;
  };
  cap.append(item('legend-line', 'Available'), item('legend-line legend-threshold', 'Threshold'));
  const n = document.createElement('span');
  n.textContent = `${points.length} check${points.length === 1 ? '' : 's'}`;
  cap.append(n);
  figure.append(cap);
  return figure;
}
