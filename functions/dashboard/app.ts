/**
 * The admin dashboard's script (bundled by scripts/build-dashboard.ts into bundle.generated.ts).
 * Vanilla DOM: every node is built with createElement/textContent (no markup strings), so the
 * page runs under `require-trusted-types-for 'script'`.
 */
import type { AlertRecord, SnapshotRecord } from '../adapters/balance-store';
import type { BalanceRow, BalanceSummary, Thresholds } from '../core/balance';
import { ApiError, createApi, type ApiIssue } from './api';
import { renderChart, seriesFor } from './chart';
import {
  formatDateTime,
  formatMoney,
  formatPercent,
  formatShortDateTime,
  formatTime,
  levelLabel,
  normalizeToken,
  percentOfThreshold,
  thresholdValue,
  tokenClaims,
} from './format';

const TOKEN_KEY = 'rift.admin.token';
const REFRESH_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// DOM helpers

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

const badge = (level: string) => h('span', { class: `badge badge-${level}`, 'data-level': level }, levelLabel(level));

function notice(kind: 'error' | 'warn', ...lines: Child[]): HTMLElement {
  return h('div', { class: `notice notice-${kind}` }, ...lines.map((l) => (typeof l === 'string' ? h('p', {}, l) : l)));
}

// ---------------------------------------------------------------------------------------------
// State

let token: string | null = readToken();
const api = createApi(() => token);

interface State {
  summary: BalanceSummary | null;
  snapshots: SnapshotRecord[];
  alerts: AlertRecord[];
  thresholds: Thresholds | null;
  thresholdsDirty: boolean;
  levels: Map<string, string>;
  busy: boolean;
  lastRefresh: number;
}

const state: State = { summary: null, snapshots: [], alerts: [], thresholds: null, thresholdsDirty: false, levels: new Map(), busy: false, lastRefresh: 0 };
let newRowSeq = 0;

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(t: string | null) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives in memory for this page only */
  }
}

// ---------------------------------------------------------------------------------------------
// Views

type View = 'signin' | 'forbidden' | 'dashboard';

function show(view: View, focus = true) {
  $('view-signin').hidden = view !== 'signin';
  $('view-forbidden').hidden = view !== 'forbidden';
  $('view-dashboard').hidden = view !== 'dashboard';
  const session = $('session');
  session.hidden = !token;
  if (token) {
    const { sub } = tokenClaims(token);
    $('session-user').textContent = sub ? `Signed in as ${sub}` : 'Signed in';
  }
  document.body.dataset.view = view;
  if (focus) $({ signin: 'signin-title', forbidden: 'forbidden-title', dashboard: 'dash-title' }[view]).focus();
}

const currentView = () => document.body.dataset.view as View | undefined;

function signOut(message?: string) {
  token = null;
  storeToken(null);
  Object.assign(state, { summary: null, snapshots: [], alerts: [], thresholds: null, thresholdsDirty: false, levels: new Map(), busy: false });
  $('cards').replaceChildren();
  $('alerts').replaceChildren();
  $('threshold-rows').replaceChildren();
  $('status').textContent = '';
  $('dash-error').replaceChildren();
  $('signin-message').replaceChildren(...(message ? [notice('error', message)] : []));
  show('signin');
}

function showForbidden(e: ApiError) {
  const { sub } = token ? tokenClaims(token) : {};
  $('forbidden-detail').textContent =
    `${sub ? `The token for “${sub}” is valid, but its` : 'The token is valid, but its'} cognito:groups claim does not include “admin”` +
    (e.requestId ? ` (request ${e.requestId}).` : '.');
  show('forbidden');
}

/** 401 and 403 end the dashboard whatever was being done; true when handled. */
function handleAuthError(e: unknown): boolean {
  if (!(e instanceof ApiError)) return false;
  if (e.status === 401) {
    signOut(`The API did not accept this token (401 ${e.code}: ${e.message}). It may have expired: sign in with a fresh one.`);
    return true;
  }
  if (e.status === 403) {
    showForbidden(e);
    return true;
  }
  return false;
}

const describeError = (what: string, e: unknown) =>
  e instanceof ApiError
    ? `${what}: ${e.message} (${e.status ? `${e.status} ` : ''}${e.code}${e.requestId ? `, request ${e.requestId}` : ''})`
    : `${what}: ${(e as Error)?.message ?? String(e)}`;

function announce(text: string) {
  $('status').textContent = text;
}

// ---------------------------------------------------------------------------------------------
// Balances

function renderSummary(summary: BalanceSummary) {
  const cards = summary.balances.map((row) => renderCard(row));
  if (cards.length === 0) cards.push(h('p', { class: 'empty panel' }, 'No currency has a threshold: add one below.'));
  $('cards').replaceChildren(...cards);
  $('checked-at').textContent = `Balance read from Stripe ${formatDateTime(summary.checkedAt)}`;
}

function renderCard(row: BalanceRow): HTMLElement {
  const code = row.currency.toUpperCase();
  const id = `card-${row.currency.toLowerCase()}`;
  const pct = row.level === 'unknown' ? null : percentOfThreshold(row.available, row.threshold);
  const fill = h('span', { class: 'bar-fill' });
  // CSSOM, not a style attribute: allowed by the page's CSP.
  fill.style.width = `${Math.max(0, Math.min(100, pct ?? 0))}%`;
  const known = row.level !== 'unknown';
  return h(
    'article',
    { class: `card level-${row.level}`, id, 'aria-labelledby': `${id}-code`, 'data-currency': row.currency.toLowerCase(), 'data-level': row.level },
    h('div', { class: 'card-head' }, h('h3', { id: `${id}-code` }, code), badge(row.level)),
    known &&
      h('div', {}, h('p', { class: 'available-label' }, 'Available'), h('p', { class: 'available', 'data-field': 'available' }, formatMoney(row.available, code))),
    known &&
      h(
        'dl',
        { class: 'figures' },
        h('div', {}, h('dt', {}, 'Pending'), h('dd', { 'data-field': 'pending' }, formatMoney(row.pending, code))),
        h('div', {}, h('dt', {}, 'Threshold'), h('dd', { 'data-field': 'threshold' }, formatMoney(row.threshold, code))),
      ),
    known &&
      h(
        'div',
        { class: 'pct-row' },
        h('p', { class: 'pct-text', 'data-field': 'percent' }, formatPercent(pct)),
        h('div', { class: 'bar', 'aria-hidden': 'true' }, fill),
      ),
    row.error && h('p', { class: 'card-error' }, `Could not evaluate ${code}: ${row.error}`),
    renderChart(seriesFor(state.snapshots, row.currency), code, `${id}-chart`),
  );
}

/** Announces levels that changed since the last render (not on the first one). */
function levelChanges(summary: BalanceSummary): string[] {
  const changes: string[] = [];
  const next = new Map(summary.balances.map((b) => [b.currency.toLowerCase(), b.level as string]));
  if (state.levels.size > 0) {
    for (const [cur, level] of next) {
      const before = state.levels.get(cur);
      if (before && before !== level) changes.push(`${cur.toUpperCase()} is now ${levelLabel(level)} (was ${levelLabel(before)}).`);
    }
  }
  state.levels = next;
  return changes;
}

// ---------------------------------------------------------------------------------------------
// Alerts

const EMAIL_STATUS: Record<string, string> = { sent: 'Emailed', unsent: 'Not sent yet', superseded: 'Superseded' };

function renderAlerts(alerts: AlertRecord[]) {
  if (alerts.length === 0) {
    $('alerts').replaceChildren(h('p', { class: 'empty' }, 'No alerts yet.'));
    return;
  }
  const rows = alerts.map((a) => {
    const code = a.currency?.toUpperCase() ?? '';
    return h(
      'tr',
      { 'data-alert-id': a.alertId, 'data-currency': a.currency ?? '', 'data-level': a.level },
      h('td', { class: 'num when' }, h('time', { datetime: a.createdAt, title: formatDateTime(a.createdAt) }, formatShortDateTime(a.createdAt))),
      h('td', {}, h('span', { class: 'alert-what' }, a.kind === 'check_failing' ? 'Balance check failing' : code, badge(a.level))),
      h('td', { class: 'num' }, code && typeof a.available === 'number' ? formatMoney(a.available, code) : '—'),
      h('td', { class: 'num hide-narrow' }, code && typeof a.threshold === 'number' ? formatMoney(a.threshold, code) : '—'),
      h('td', { ...(a.error ? { title: a.error } : {}) }, EMAIL_STATUS[a.status] ?? a.status),
    );
  });
  const head = h('tr', {}, ...['When', 'Alert', 'Available', 'Threshold', 'Email'].map((t, i) => h('th', { scope: 'col', ...(i === 3 ? { class: 'hide-narrow' } : {}) }, t)));
  $('alerts').replaceChildren(
    h(
      'div',
      { class: 'table-wrap', role: 'region', 'aria-labelledby': 'alerts-title', tabindex: '0' },
      h('table', {}, h('caption', { class: 'sr-only' }, 'Recent balance alerts, newest first'), h('thead', {}, head), h('tbody', {}, ...rows)),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Thresholds form

interface RowRefs {
  row: HTMLElement;
  code: () => string;
  codeInput?: HTMLInputElement;
  amount: HTMLInputElement;
  error: HTMLElement;
}

const rowRefs: RowRefs[] = [];

function thresholdRow(code: string | null, value: string): RowRefs {
  const key = code ?? `new-${++newRowSeq}`;
  const base = `th-${key}`;
  const errorId = `${base}-error`;
  const error = h('p', { class: 'field-error', id: errorId, hidden: '' });
  const describedBy = `${errorId} thresholds-hint`;
  const amount = h('input', {
    type: 'text',
    id: `${base}-amount`,
    name: code ? `threshold-${code}` : `threshold-${key}`,
    inputmode: 'decimal',
    autocomplete: 'off',
    'aria-describedby': describedBy,
    value,
  });
  let codeInput: HTMLInputElement | undefined;
  let codeCell: HTMLElement;
  let amountCell: HTMLElement;
  if (code) {
    // The visible label is the code itself; screen readers hear "USD threshold (major units)".
    codeCell = h('div', { class: 'code-cell' }, h('label', { for: amount.id, class: 'code-label' }, code, h('span', { class: 'sr-only' }, ' threshold (major units)')));
    amountCell = h('div', { class: 'amount-cell' }, amount);
  } else {
    codeInput = h('input', {
      type: 'text',
      id: `${base}-code`,
      name: `code-${key}`,
      maxlength: '3',
      autocomplete: 'off',
      autocapitalize: 'characters',
      spellcheck: 'false',
      placeholder: 'GBP',
      'aria-describedby': describedBy,
    });
    codeCell = h('div', { class: 'code-cell' }, h('label', { for: codeInput.id, class: 'small-label' }, 'Currency'), codeInput);
    amountCell = h(
      'div',
      { class: 'amount-cell' },
      h('label', { for: amount.id, class: 'small-label' }, 'Threshold', h('span', { class: 'sr-only' }, ' for the new currency (major units)')),
      amount,
    );
  }
  const remove = h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'aria-label': code ? `Remove ${code}` : 'Remove this new currency' }, 'Remove');
  const row = h(
    'div',
    { class: `threshold-row${code ? '' : ' threshold-row-new'}`, 'data-code': code ?? '' },
    codeCell,
    amountCell,
    h('div', { class: 'remove-cell' }, remove),
    h('div', { class: 'errors' }, error),
  );
  const refs: RowRefs = { row, amount, error, code: () => code ?? (codeInput?.value ?? '').trim().toUpperCase(), ...(codeInput ? { codeInput } : {}) };
  remove.addEventListener('click', () => {
    const i = rowRefs.indexOf(refs);
    if (i >= 0) rowRefs.splice(i, 1);
    row.remove();
    state.thresholdsDirty = true;
    announce(code ? `${code} removed from the form; save to apply.` : 'New currency removed.');
    $('add-currency').focus();
  });
  return refs;
}

function renderThresholds(thresholds: Thresholds) {
  rowRefs.length = 0;
  for (const code of Object.keys(thresholds).sort()) rowRefs.push(thresholdRow(code, String(thresholds[code])));
  $('threshold-rows').replaceChildren(...rowRefs.map((r) => r.row));
  clearThresholdErrors();
}

function clearThresholdErrors() {
  $('thresholds-summary').replaceChildren();
  for (const r of rowRefs) setFieldError(r, null);
}

type Target = 'code' | 'amount';

/** Which field of a row a message is about: the code (new rows only) or the amount. */
const targetOf = (r: RowRefs, message: string): Target => (r.codeInput && /currency|code|already in the list/i.test(message) ? 'code' : 'amount');

function setFieldError(r: RowRefs, message: string | null, target?: Target) {
  r.error.textContent = message ?? '';
  r.error.hidden = !message;
  const inputs: [Target, HTMLInputElement | undefined][] = [['amount', r.amount], ['code', r.codeInput]];
  for (const [t, input] of inputs) {
    if (!input) continue;
    if (message && (t === target || target === undefined)) input.setAttribute('aria-invalid', 'true');
    else if (!message) input.removeAttribute('aria-invalid');
  }
}

function showThresholdProblems(problems: { refs: RowRefs | null; label: string; message: string }[]) {
  for (const p of problems) if (p.refs) setFieldError(p.refs, [p.refs.error.textContent, p.message].filter(Boolean).join(' · '), targetOf(p.refs, p.message));
  const n = problems.length;
  $('thresholds-summary').replaceChildren(
    notice(
      'error',
      h('strong', {}, `Not saved: ${n} problem${n === 1 ? '' : 's'}.`),
      h('ul', {}, ...problems.map((p) => h('li', {}, `${p.label}: ${p.message}`))),
    ),
  );
  const first = problems.find((p) => p.refs);
  if (first?.refs) (targetOf(first.refs, first.message) === 'code' && first.refs.codeInput ? first.refs.codeInput : first.refs.amount).focus();
}

async function saveThresholds(ev: Event) {
  ev.preventDefault();
  clearThresholdErrors();
  const body: Record<string, unknown> = {};
  const owner = new Map<string, RowRefs>();
  const problems: { refs: RowRefs | null; label: string; message: string }[] = [];
  for (const r of rowRefs) {
    const code = r.code();
    const raw = r.amount.value;
    if (!code && raw.trim() === '' && r.codeInput) continue; // an untouched new row
    if (!code) {
      problems.push({ refs: r, label: 'New currency', message: 'enter a three-letter currency code such as GBP' });
      continue;
    }
    if (owner.has(code)) {
      problems.push({ refs: r, label: code, message: `${code} is already in the list` });
      continue;
    }
    owner.set(code, r);
    body[code] = thresholdValue(raw);
  }
  if (problems.length) return showThresholdProblems(problems);

  const button = $<HTMLButtonElement>('save-thresholds');
  button.disabled = true;
  announce('Saving thresholds…');
  try {
    const res = await api.putThresholds(body);
    state.thresholds = res.thresholds;
    state.thresholdsDirty = false;
    renderThresholds(res.thresholds);
    const list = Object.entries(res.thresholds)
      .map(([c, v]) => `${c} ${v}`)
      .join(', ');
    await refresh({ quiet: true, keepStatus: true });
    announce(`Thresholds saved${list ? `: ${list}` : ' (none: the monitor checks no currency)'}.`);
  } catch (e) {
    if (handleAuthError(e)) return;
    if (e instanceof ApiError && e.code === 'validation_error' && e.issues.length) {
      showThresholdProblems(
        e.issues.map((i: ApiIssue) => {
          const key = i.path.replace(/^thresholds\.?/, '');
          const refs = (key && owner.get(key)) || null;
          return { refs, label: key || 'Thresholds', message: i.message };
        }),
      );
      announce('Thresholds not saved: see the errors in the form.');
    } else {
      $('thresholds-summary').replaceChildren(notice('error', describeError('Could not save the thresholds', e)));
      announce('Thresholds not saved.');
    }
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

async function refresh(opts: { quiet?: boolean; keepStatus?: boolean } = {}) {
  if (!token || state.busy) return;
  state.busy = true;
  if (!opts.quiet) announce('Loading…');
  try {
    const [summary, history, alerts, thresholds] = await Promise.allSettled([api.summary(), api.history(100), api.alerts(20), api.thresholds()]);
    for (const r of [summary, history, alerts, thresholds]) if (r.status === 'rejected' && handleAuthError(r.reason)) return;
    const errors: string[] = [];
    if (history.status === 'fulfilled') state.snapshots = history.value.snapshots;
    else errors.push(describeError('Could not load the balance history', history.reason));
    let changes: string[] = [];
    if (summary.status === 'fulfilled') {
      state.summary = summary.value;
      changes = levelChanges(summary.value);
    } else errors.push(describeError('Could not read the Stripe balance', summary.reason));
    if (state.summary) renderSummary(state.summary);
    if (alerts.status === 'fulfilled') {
      state.alerts = alerts.value.alerts;
      renderAlerts(state.alerts);
    } else errors.push(describeError('Could not load the alerts', alerts.reason));
    if (thresholds.status === 'fulfilled') {
      state.thresholds = thresholds.value.thresholds;
      if (!state.thresholdsDirty) renderThresholds(state.thresholds);
    } else errors.push(describeError('Could not load the thresholds', thresholds.reason));
    $('dash-error').replaceChildren(...(errors.length ? [notice('error', ...errors)] : []));
    state.lastRefresh = Date.now();
    if (!opts.keepStatus) {
      const when = formatTime(new Date().toISOString());
      if (changes.length) announce(`Updated ${when}. ${changes.join(' ')}`);
      else if (!opts.quiet) announce(errors.length ? `Updated ${when}, with errors.` : `Updated ${when}.`);
    }
  } finally {
    state.busy = false;
  }
}

async function checkNow() {
  const button = $<HTMLButtonElement>('check-now');
  if (button.disabled) return;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = 'Checking…';
  announce('Checking the Stripe balance now…');
  try {
    const result = await api.checkNow();
    state.summary = result.summary;
    const changes = levelChanges(result.summary);
    await refresh({ quiet: true, keepStatus: true });
    const worst = result.summary.balances.filter((b) => b.level === 'critical' || b.level === 'warning');
    const levels = worst.length ? worst.map((b) => `${b.currency.toUpperCase()} ${levelLabel(b.level).toLowerCase()}`).join(', ') : 'every balance at or above 30 % of its threshold';
    const n = result.alerts.length;
    const alertText = n === 0 ? 'no new alert' : `${n} new alert${n === 1 ? '' : 's'}${result.emailed ? ', emailed' : ''}`;
    announce(
      `Checked ${formatTime(result.summary.checkedAt)}: ${levels}; ${alertText}.` +
        (result.emailError ? ` The alert email failed: ${result.emailError}.` : '') +
        (changes.length ? ` ${changes.join(' ')}` : ''),
    );
  } catch (e) {
    if (handleAuthError(e)) return;
    $('dash-error').replaceChildren(notice('error', describeError('The check failed', e)));
    announce('The check failed.');
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = 'Check now';
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function signIn(ev: Event) {
  ev.preventDefault();
  const input = $<HTMLTextAreaElement>('token');
  const err = $('token-error');
  const t = normalizeToken(input.value);
  const problem = !t ? 'Paste a token first.' : t.split('.').length !== 3 ? 'That is not a JWT: a token has three parts separated by dots.' : null;
  if (problem) {
    err.textContent = problem;
    err.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  err.hidden = true;
  input.removeAttribute('aria-invalid');
  input.value = '';
  token = t;
  storeToken(t);
  $('signin-message').replaceChildren();
  state.levels = new Map();
  show('dashboard');
  void refresh();
}

function start() {
  $('signin-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signOut());
  $('forbidden-retry').addEventListener('click', () => signOut());
  $('check-now').addEventListener('click', () => void checkNow());
  $('thresholds-form').addEventListener('submit', (e) => void saveThresholds(e));
  $('thresholds-form').addEventListener('input', () => (state.thresholdsDirty = true));
  $('add-currency').addEventListener('click', () => {
    const r = thresholdRow(null, '');
    rowRefs.push(r);
    $('threshold-rows').append(r.row);
    state.thresholdsDirty = true;
    r.codeInput?.focus();
  });
  $('reset-thresholds').addEventListener('click', () => {
    state.thresholdsDirty = false;
    if (state.thresholds) renderThresholds(state.thresholds);
    announce('Changes discarded.');
  });
  $('auto-refresh').addEventListener('change', (e) => {
    const on = (e.target as HTMLInputElement).checked;
    announce(on ? 'Automatic refresh on (every 60 s).' : 'Automatic refresh off.');
  });
  const tick = () => {
    if (currentView() !== 'dashboard' || !$<HTMLInputElement>('auto-refresh').checked || document.hidden) return;
    if (Date.now() - state.lastRefresh < REFRESH_MS - 1000) return;
    void refresh({ quiet: true });
  };
  setInterval(tick, 5_000);
  document.addEventListener('visibilitychange', tick);

  if (token) {
    show('dashboard', false);
    void refresh();
  } else show('signin', false);
}

start();
