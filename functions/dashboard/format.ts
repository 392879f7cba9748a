/** Pure formatting helpers of the dashboard (no DOM): unit-tested under Node. */
import { currencyExponent, percentOfThreshold } from '../core/balance';

export { percentOfThreshold };

/** Minor units as a major-unit amount of the currency (`5000`, `usd` -> `$50.00`), with its exponent. */
export function formatMoney(minor: number, currency: string, locale?: string): string {
  const code = currency.toUpperCase();
  const exp = currencyExponent(code);
  const major = minor / 10 ** exp;
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency: code, minimumFractionDigits: exp, maximumFractionDigits: exp }).format(major);
  } catch {
    // A code Intl does not know: plain number and the code.
    return `${new Intl.NumberFormat(locale, { minimumFractionDigits: exp, maximumFractionDigits: exp }).format(major)} ${code}`;
  }
}

/** A short axis label (`$1.2K`). */
export function formatMoneyCompact(minor: number, currency: string, locale?: string): string {
  const code = currency.toUpperCase();
  const major = minor / 10 ** currencyExponent(code);
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency: code, notation: 'compact', minimumFractionDigits: 0, maximumFractionDigits: 1 }).format(major);
  } catch {
    return `${new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 }).format(major)} ${code}`;
  }
}

/** Major units (a threshold as stored) as a grouped number without currency sign (`1,000`). */
export function formatMajor(major: number, currency: string, locale?: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: currencyExponent(currency) }).format(major);
}

export function formatPercent(pct: number | null, locale?: string): string {
  if (pct === null) return 'no threshold';
  return `${new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(pct)} % of threshold`;
}

export function formatDateTime(iso: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
}

/** `Dec 4, 8:31 PM`: for tables. */
export function formatShortDateTime(iso: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' }).format(d);
}

export function formatTime(iso: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { timeStyle: 'medium' }).format(d);
}

/** A short axis timestamp: the time when the range is within one day, else the date and time. */
export function formatAxisTime(iso: string, spanMs: number, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return spanMs < 24 * 3600_000
    ? new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(d)
    : new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(d);
}

export const LEVEL_LABEL: Record<string, string> = {
  ok: 'OK',
  info: 'Info',
  warning: 'Warning',
  critical: 'Critical',
  unknown: 'Unknown',
};

export const levelLabel = (level: string) => LEVEL_LABEL[level] ?? level;

/** The threshold form's raw text as the API value: a number when it is one, else the text (the API explains). */
export function thresholdValue(text: string): number | string {
  const t = text.trim().replace(/[\s,_]/g, '');
  if (t === '') return text.trim();
  const n = Number(t);
  return Number.isFinite(n) ? n : text.trim();
}

/** The `sub` (and whether `cognito:groups` names admin) of a JWT, for display only: nothing is verified here. */
export function tokenClaims(token: string): { sub?: string; admin?: boolean } {
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(
      Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
    );
    const claims = JSON.parse(json) as Record<string, unknown>;
    const groups = claims['cognito:groups'];
    const admin = Array.isArray(groups) ? groups.includes('admin') : typeof groups === 'string' ? /(^|[\s,[])admin([\s,\]]|$)/.test(groups) : false;
    return { ...(typeof claims.sub === 'string' ? { sub: claims.sub } : {}), admin };
  } catch {
    return {};
  }
}

/** `Bearer xyz` or `xyz` with stray whitespace -> `xyz`. */
export const normalizeToken = (input: string) => input.trim().replace(/^bearer\s+/i, '').replace(/\s+/g, '');
