/**
 * Balance monitoring, the pure part: levels, currency exponents, thresholds, alert decisions
 * and the alert email. No AWS, no Stripe, no HTTP: every function here is deterministic
 * (time comes in as an argument).
 *
 * Amounts are integers of the currency's minor unit as Stripe represents it (`available: 5000`
 * is 50.00 USD, 5000 JPY, 5.000 KWD). Thresholds are entered in MAJOR units keyed by the
 * upper-case currency (`{ USD: 1000 }`) and converted with the currency's exponent.
 */

// ---------------------------------------------------------------------------------------------
// Currencies

/**
 * ISO-4217 active currency codes (funds codes such as BOV/CHE/USN, precious metals and the
 * testing codes are left out: no Stripe balance is ever held in them). Legacy codes still seen
 * in the wild (HRK, SLL, ZWL, ANG) are kept so an old stored threshold stays valid.
 */
export const ISO_4217_CURRENCIES: ReadonlySet<string> = new Set(
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP ' +
    'BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP ' +
    'GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES ' +
    'KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR ' +
    'MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB ' +
    'RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY ' +
    'TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL'
  ).split(' '),
);

export const isKnownCurrency = (code: string): boolean => ISO_4217_CURRENCIES.has(code.toUpperCase());

/**
 * Zero-decimal currencies as Stripe represents them (https://docs.stripe.com/currencies):
 * the amount IS the major unit. Note MGA is zero-decimal at Stripe (ISO says 2), and ISK, HUF
 * and TWD are sent to Stripe as two-decimal amounts, so they keep exponent 2 here.
 */
const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
/** Three-decimal currencies (Stripe: BHD, JOD, KWD, OMR, TND; ISO adds IQD and LYD). */
const THREE_DECIMAL = new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);

/** Number of minor-unit digits of a currency (case-insensitive); 2 for every other currency. */
export function currencyExponent(currency: string): 0 | 2 | 3 {
  const c = currency.toUpperCase();
  if (ZERO_DECIMAL.has(c)) return 0;
  if (THREE_DECIMAL.has(c)) return 3;
  return 2;
}

/** Major units (1000 USD) to minor units (100000), rounded to the nearest minor unit. */
export function majorToMinor(major: number, currency: string): number {
  if (!Number.isFinite(major)) throw new RangeError(`threshold for ${currency} is not a finite number`);
  const exp = currencyExponent(currency);
  // Round through a decimal string so 1.005 * 100 does not become 100.49999…
  const viaString = Number(`${major}e${exp}`);
  return Math.round(Number.isFinite(viaString) ? viaString : major * 10 ** exp);
}

/** Minor units to a display string in major units, with the currency's digits (`1234.50`). */
export function formatMinor(minor: number, currency: string): string {
  const exp = currencyExponent(currency);
  const neg = minor < 0;
  const abs = Math.abs(Math.trunc(minor));
  if (exp === 0) return `${neg ? '-' : ''}${abs}`;
  const s = String(abs).padStart(exp + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -exp)}.${s.slice(-exp)}`;
}

// ---------------------------------------------------------------------------------------------
// Thresholds

/** Major units keyed by upper-case ISO currency. */
export type Thresholds = Record<string, number>;

export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = Object.freeze({ USD: 1000, CAD: 1000, EUR: 1000 });

/** Keeps every threshold a safe integer in minor units (1e12 major units x 1000 < 2^53). */
export const MAX_THRESHOLD_MAJOR = 1e12;

/** Why a threshold entry is invalid, or null when it is fine. */
export function thresholdEntryProblem(currency: string, value: unknown): string | null {
  if (!/^[A-Z]{3}$/.test(currency) || !ISO_4217_CURRENCIES.has(currency)) {
    return `unknown currency "${currency}": use an upper-case ISO-4217 code such as USD`;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'threshold must be a finite number (major units)';
  if (value < 0) return 'threshold must not be negative';
  if (value > MAX_THRESHOLD_MAJOR) return `threshold must be at most ${MAX_THRESHOLD_MAJOR}`;
  return null;
}

/**
 * Parses the `BALANCE_THRESHOLDS` environment JSON. A broken value must not stop the monitor:
 * invalid JSON gives `null` (use the defaults), invalid entries are dropped; every problem is
 * returned so the caller can log it.
 */
export function parseThresholdsJson(json: string | undefined): { thresholds: Thresholds | null; problems: string[] } {
  if (json === undefined || json.trim() === '') return { thresholds: null, problems: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { thresholds: null, problems: ['BALANCE_THRESHOLDS is not valid JSON; using the defaults'] };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { thresholds: null, problems: ['BALANCE_THRESHOLDS must be a JSON object such as {"USD":1000}; using the defaults'] };
  }
  const thresholds: Thresholds = {};
  const problems: string[] = [];
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const p = thresholdEntryProblem(k, v);
    if (p) problems.push(`BALANCE_THRESHOLDS.${k}: ${p}`);
    else thresholds[k] = v as number;
  }
  return { thresholds, problems };
}

/**
 * The thresholds a run uses: stored ones, else the environment's, else the defaults; then the
 * run's own override (an admin's `POST` body) merged over them, for this run only.
 */
export function effectiveThresholds(p: { stored: Thresholds | null; env: Thresholds | null; override?: Thresholds }): Thresholds {
  const base = p.stored ?? p.env ?? DEFAULT_THRESHOLDS;
  return { ...base, ...(p.override ?? {}) };
}

// ---------------------------------------------------------------------------------------------
// Levels

export type AlertLevel = 'ok' | 'info' | 'warning' | 'critical';
/** `unknown`: this currency's data could not be evaluated (reported, never hides the others). */
export type BalanceLevel = AlertLevel | 'unknown';

export const LEVEL_RANK: Record<AlertLevel, number> = { ok: 0, info: 1, warning: 2, critical: 3 };

export const isMailLevel = (l: BalanceLevel): l is 'warning' | 'critical' => l === 'warning' || l === 'critical';

/**
 * The level of an available balance against a threshold (both minor units):
 * below 10 % `critical`, below 30 % `warning`, below 100 % `info`, else `ok`.
 * Exactly 10 % is `warning`, exactly 30 % is `info`, exactly 100 % is `ok`.
 * Integer arithmetic, no floating percentages: `available * 10 < threshold` etc.
 * A threshold of 0 means "no minimum": only a negative balance is below it (critical).
 */
export function balanceLevel(available: number, threshold: number): AlertLevel {
  if (available * 10 < threshold) return 'critical';
  if (available * 10 < threshold * 3) return 'warning';
  if (available < threshold) return 'info';
  return 'ok';
}

/** Available as a percentage of the threshold, one decimal; null when the threshold is 0. */
export function percentOfThreshold(available: number, threshold: number): number | null {
  if (threshold <= 0) return null;
  return Math.round((available / threshold) * 1000) / 10;
}

export function recommendedAction(level: BalanceLevel, currency: string): string {
  const c = currency.toUpperCase();
  switch (level) {
    case 'critical':
      return `Top up the ${c} balance now: releases in ${c} will start failing with insufficient_platform_balance.`;
    case 'warning':
      return `Plan a ${c} top-up soon and watch pending releases.`;
    case 'info':
      return `Below threshold; no action needed yet, keep an eye on ${c}.`;
    case 'ok':
      return 'None.';
    default:
      return `Check the ${c} balance in the Stripe dashboard: the monitor could not evaluate it.`;
  }
}

// ---------------------------------------------------------------------------------------------
// Summary

export interface BalanceEntryInput {
  currency: string;
  available: unknown;
  pending: unknown;
}

export interface BalanceRow {
  /** Lower-case ISO code, as Stripe and the rest of the API spell it. */
  currency: string;
  available: number;
  pending: number;
  /** Minor units. */
  threshold: number;
  level: BalanceLevel;
  /** Present when `level` is `unknown`. */
  error?: string;
}

export interface BalanceSummary {
  checkedAt: string;
  balances: BalanceRow[];
}

const isMinorAmount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * One row per currency with a threshold (sorted by currency). A currency Stripe does not report
 * has available 0 and pending 0. A row whose data is bad (non-integer amount, bad threshold)
 * gets level `unknown` and an `error`; the other rows are computed as usual.
 */
export function buildSummary(entries: readonly BalanceEntryInput[], thresholds: Thresholds, checkedAt: string): BalanceSummary {
  const byCurrency = new Map<string, BalanceEntryInput>();
  for (const e of entries) {
    if (typeof e?.currency === 'string') byCurrency.set(e.currency.toLowerCase(), e);
  }
  const balances: BalanceRow[] = [];
  for (const code of Object.keys(thresholds).sort()) {
    const currency = code.toLowerCase();
    const e = byCurrency.get(currency);
    const available = e ? e.available : 0;
    const pending = e ? e.pending : 0;
    let threshold = 0;
    try {
      const problem = thresholdEntryProblem(code, thresholds[code]);
      if (problem) throw new Error(problem);
      threshold = majorToMinor(thresholds[code] as number, code);
      if (!isMinorAmount(available)) throw new Error(`Stripe reported a non-integer available amount (${String(available)})`);
      if (!isMinorAmount(pending)) throw new Error(`Stripe reported a non-integer pending amount (${String(pending)})`);
      balances.push({ currency, available, pending, threshold, level: balanceLevel(available, threshold) });
    } catch (err) {
      balances.push({
        currency,
        available: isMinorAmount(available) ? available : 0,
        pending: isMinorAmount(pending) ? pending : 0,
        threshold,
        level: 'unknown',
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return { checkedAt, balances };
}

// ---------------------------------------------------------------------------------------------
// Alert decisions

/** The last level SENT for a currency, and when. */
export interface AlertState {
  level: AlertLevel;
  sentAt: string;
}

export type AlertReason = 'first' | 'escalation' | 'repeat' | 'forced' | 'retry';

export interface AlertDecision {
  row: BalanceRow & { level: 'warning' | 'critical' };
  reason: AlertReason;
}

export interface DecideInput {
  balances: readonly BalanceRow[];
  /** Keyed by lower-case currency. */
  state: Readonly<Record<string, AlertState | undefined>>;
  now: Date;
  repeatHours: number;
  force?: boolean;
  /** Currencies with an alert recorded as not sent (SES failed, or the run died): due now. */
  undelivered?: ReadonlySet<string>;
}

/**
 * Which currencies go into this run's email.
 * - Only `warning` and `critical` are ever mailed (so `force` with only `info` mails nothing).
 * - Never alerted before: mail. Worse than the last level sent: mail (escalation).
 * - Same or lower level than the last one sent: mail only once `repeatHours` have passed since
 *   it was sent (a drop, or a return to the same level, within the window sends nothing).
 * - `force`: every warning/critical currency, whatever the state.
 * - An earlier alert that was recorded but not delivered: mail (retry), whatever the window.
 */
export function decideAlerts(input: DecideInput): AlertDecision[] {
  const windowMs = Math.max(0, input.repeatHours) * 3_600_000;
  const out: AlertDecision[] = [];
  for (const row of input.balances) {
    if (!isMailLevel(row.level)) continue;
    const r = row as AlertDecision['row'];
    const prev = input.state[row.currency];
    let reason: AlertReason | null = null;
    if (!prev) reason = 'first';
    else if (LEVEL_RANK[row.level] > LEVEL_RANK[prev.level]) reason = 'escalation';
    else if (input.now.getTime() - Date.parse(prev.sentAt) >= windowMs) reason = 'repeat';
    else if (input.undelivered?.has(row.currency)) reason = 'retry';
    else if (input.force) reason = 'forced';
    if (reason) out.push({ row: r, reason });
  }
  return out;
}

export function worstLevel(levels: readonly AlertLevel[]): AlertLevel {
  return levels.reduce<AlertLevel>((w, l) => (LEVEL_RANK[l] > LEVEL_RANK[w] ? l : w), 'ok');
}

/**
 * The "balance check failing" decision: after `failures >= 2` consecutive failed reads, mail
 * once per streak, then again every `repeatHours` while it keeps failing; an undelivered
 * earlier mail is retried.
 */
export function shouldMailCheckFailing(p: {
  consecutiveFailures: number;
  failingSince: string;
  state: AlertState | undefined;
  now: Date;
  repeatHours: number;
  undelivered: boolean;
}): boolean {
  if (p.consecutiveFailures < 2) return false;
  if (p.undelivered || !p.state) return true;
  if (Date.parse(p.state.sentAt) < Date.parse(p.failingSince)) return true; // a new streak
  return p.now.getTime() - Date.parse(p.state.sentAt) >= Math.max(0, p.repeatHours) * 3_600_000;
}

// ---------------------------------------------------------------------------------------------
// Email composition

export interface EmailContent {
  subject: string;
  html: string;
  text: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);

const LEVEL_COLOR: Record<AlertLevel, string> = { critical: '#b00020', warning: '#b26a00', info: '#1a5fb4', ok: '#2e7d32' };

/** `[CRITICAL] Stripe balance low: USD, EUR` — the worst level among the rows, their currencies. */
export function alertSubject(rows: readonly Pick<BalanceRow, 'currency' | 'level'>[]): string {
  const levels = rows.map((r) => r.level).filter((l): l is AlertLevel => l !== 'unknown');
  const worst = worstLevel(levels);
  const currencies = rows.map((r) => r.currency.toUpperCase()).join(', ');
  return `[${worst.toUpperCase()}] Stripe balance low: ${currencies}`;
}

function pct(r: BalanceRow): string {
  const p = percentOfThreshold(r.available, r.threshold);
  return p === null ? 'n/a' : `${p}%`;
}

/**
 * The alert email: rows sorted worst first, then by currency. HTML table with currency,
 * available, pending, threshold, percentage, level and recommended action; the same in text.
 */
export function composeAlertEmail(rows: readonly BalanceRow[], checkedAt: string): EmailContent {
  const sorted = [...rows].sort(
    (a, b) =>
      (b.level === 'unknown' ? -1 : LEVEL_RANK[b.level]) - (a.level === 'unknown' ? -1 : LEVEL_RANK[a.level]) ||
      a.currency.localeCompare(b.currency),
  );
  const subject = alertSubject(sorted);
  const headers = ['Currency', 'Available', 'Pending', 'Threshold', 'Percentage', 'Level', 'Recommended action'];
  const cells = (r: BalanceRow) => [
    r.currency.toUpperCase(),
    formatMinor(r.available, r.currency),
    formatMinor(r.pending, r.currency),
    formatMinor(r.threshold, r.currency),
    pct(r),
    r.level,
    recommendedAction(r.level, r.currency),
  ];
  const th = 'style="text-align:left;padding:4px 8px;border-bottom:1px solid #ccc"';
  const td = 'style="padding:4px 8px;border-bottom:1px solid #eee"';
  const htmlRows = sorted
    .map((r) => {
      const c = cells(r).map(escapeHtml);
      const color = r.level === 'unknown' ? '#555' : LEVEL_COLOR[r.level];
      return (
        `<tr data-currency="${escapeHtml(r.currency)}">` +
        c.map((v, i) => (i === 5 ? `<td ${td}><strong style="color:${color}">${v}</strong></td>` : `<td ${td}>${v}</td>`)).join('') +
        '</tr>'
      );
    })
    .join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2>${escapeHtml(subject)}</h2>`,
    `<p>Stripe platform balance checked at ${escapeHtml(checkedAt)}. Amounts in major units of each currency.</p>`,
    '<table style="border-collapse:collapse">',
    `<thead><tr>${headers.map((h) => `<th ${th}>${h}</th>`).join('')}</tr></thead>`,
    `<tbody>\n${htmlRows}\n</tbody>`,
    '</table>',
    '<p>Sent by the Rift balance monitor.</p>',
    '</body></html>',
  ].join('\n');
  const text = [
    subject,
    '',
    `Stripe platform balance checked at ${checkedAt}. Amounts in major units of each currency.`,
    '',
    ...sorted.map((r) => {
      const [cur, avail, pend, thr, p, , action] = cells(r);
      return `${cur}: available ${avail}, pending ${pend}, threshold ${thr} (${p}) - ${r.level.toUpperCase()}\n  Action: ${action}`;
    }),
    '',
    'Sent by the Rift balance monitor.',
  ].join('\n');
  return { subject, html, text };
}

/** The email sent when Stripe's balance could not be read in two or more runs in a row. */
export function composeCheckFailingEmail(p: { consecutiveFailures: number; failingSince: string; lastError: string; now: string }): EmailContent {
  const subject = `[CRITICAL] Stripe balance check failing (${p.consecutiveFailures} runs in a row)`;
  const lines = [
    `The balance monitor could not read the Stripe balance in ${p.consecutiveFailures} consecutive runs.`,
    `Failing since: ${p.failingSince}`,
    `Last attempt: ${p.now}`,
    `Last error: ${p.lastError}`,
    'Until this is fixed, low balances are NOT being detected. Check Stripe status, the API key and the monitor logs.',
  ];
  const html =
    '<!doctype html><html><body style="font-family:sans-serif">' +
    `<h2>${escapeHtml(subject)}</h2>` +
    lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('') +
    '</body></html>';
  return { subject, html, text: [subject, '', ...lines].join('\n') };
}
