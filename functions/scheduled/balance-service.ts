/**
 * Balance monitoring use cases, wired by dependency injection:
 * `createBalanceService({ gateway, store, mailer, clock, config })`.
 *
 * Imports only types from the adapters, so the admin and release functions can use it without
 * bundling the SES client (they pass no mailer; only `runBalanceMonitoring` needs one).
 */
import { randomUUID } from 'node:crypto';
import {
  buildSummary,
  composeAlertEmail,
  composeCheckFailingEmail,
  decideAlerts,
  effectiveThresholds,
  isMailLevel,
  parseThresholdsJson,
  shouldMailCheckFailing,
  type AlertDecision,
  type AlertState,
  type BalanceRow,
  type BalanceSummary,
  type Thresholds,
} from '../core/balance';
import type { Config } from '../adapters/config';
import type { PaymentGateway } from '../adapters/payment-gateway';
import type { AlertRecord, BalanceStore, CheckHealth, SnapshotRecord, StoredAlertState } from '../adapters/balance-store';
import { CHECK_STATE_KEY } from '../adapters/balance-store';
import type { Mailer } from '../adapters/ses-mailer';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface LoggerLike {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}
const silentLogger: LoggerLike = { info() {}, warn() {}, error() {} };

/** What the monitor publishes (Powertools Metrics in Lambda; a no-op or a spy elsewhere). */
export interface BalanceMetrics {
  available(currency: string, amount: number, level: string): void;
  alertCount(count: number): void;
  checkFailed(): void;
  publish(): void;
}
const noMetrics: BalanceMetrics = { available() {}, alertCount() {}, checkFailed() {}, publish() {} };

export interface BalanceServiceDeps {
  gateway: Pick<PaymentGateway, 'getBalance'>;
  store: BalanceStore;
  /** Required by the monitor run only. */
  mailer?: Mailer;
  clock?: Clock;
  config: Pick<Config, 'adminEmail' | 'alertFromEmail' | 'alertRepeatHours' | 'balanceThresholdsJson'>;
  metrics?: BalanceMetrics;
  logger?: LoggerLike;
  newId?: () => string;
}

export interface MonitorOptions {
  force?: boolean;
  trigger?: 'schedule' | 'manual';
}

export interface MonitorRunResult {
  /** false when Stripe's balance could not be read (the failed check is recorded). */
  ok: boolean;
  runId: string;
  summary: BalanceSummary | null;
  /** The alerts this run recorded (sent or not). */
  alerts: AlertRecord[];
  /** True when this run's mail was accepted by SES. */
  emailed: boolean;
  error?: { code: 'payment_provider_error' | 'email_failed'; message: string };
  /** Consecutive failed Stripe reads (0 after a good one). */
  consecutiveFailures?: number;
}

export interface TransferBalanceCheck {
  ok: boolean;
  currency: string;
  available: number;
  required: number;
}

const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The release path's pre-check, usable without the rest of the service: Stripe's `available`
 * in `currency` (a currency Stripe does not report has 0) against `amount` (minor units).
 * Provider errors propagate (the caller maps them to 502).
 */
export async function checkBalanceForTransfer(gateway: Pick<PaymentGateway, 'getBalance'>, currency: string, amount: number): Promise<TransferBalanceCheck> {
  const c = currency.toLowerCase();
  const entries = await gateway.getBalance();
  const entry = entries.find((e) => e.currency.toLowerCase() === c);
  const available = entry && Number.isFinite(entry.available) ? entry.available : 0;
  return { ok: available >= amount, currency: c, available, required: amount };
}

export function createBalanceService(deps: BalanceServiceDeps) {
  const clock = deps.clock ?? systemClock;
  const log = deps.logger ?? silentLogger;
  const metrics = deps.metrics ?? noMetrics;
  const newId = deps.newId ?? (() => randomUUID());
  const { config } = deps;
  const repeatHours = config.alertRepeatHours;

  const envThresholds = (() => {
    const { thresholds, problems } = parseThresholdsJson(config.balanceThresholdsJson);
    for (const p of problems) log.warn('bad BALANCE_THRESHOLDS', { problem: p });
    return thresholds;
  })();

  /** Stored thresholds, else the environment's, else the defaults; `override` merged over. */
  async function loadThresholds(override?: Thresholds): Promise<Thresholds> {
    return effectiveThresholds({ stored: await deps.store.getThresholds(), env: envThresholds, override });
  }

  /** The current summary, read live from Stripe. Stores nothing. */
  async function getBalanceSummary(override?: Thresholds): Promise<BalanceSummary> {
    const thresholds = await loadThresholds(override);
    const entries = await deps.gateway.getBalance();
    return buildSummary(entries, thresholds, clock.now().toISOString());
  }

  const mailerOrThrow = (): Mailer => {
    if (!deps.mailer) throw new Error('the balance monitor needs a mailer (only the balance-monitor function sends mail)');
    return deps.mailer;
  };

  /** Claims the alert state of each key; returns the decisions this run won. */
  async function claim<T extends { key: string }>(items: T[], states: Record<string, StoredAlertState>, next: (item: T) => StoredAlertState) {
    const won: { item: T; prev: AlertState | undefined; claimed: StoredAlertState }[] = [];
    for (const item of items) {
      const prev = states[item.key];
      const claimed = next(item);
      if (await deps.store.claimAlertState(item.key, prev, claimed)) won.push({ item, prev, claimed });
      else log.info('alert state moved on by a concurrent run; not mailing it again', { key: item.key });
    }
    return won;
  }

  /**
   * Sends one mail for `records` and settles them: `sent` on success; on failure they stay
   * `unsent` (with the error) and the claimed states are put back, so the next run sends them.
   */
  async function deliver(
    records: AlertRecord[],
    content: { subject: string; html: string; text: string },
    claims: { key: string; prev: AlertState | undefined; claimed: StoredAlertState }[],
    earlier: AlertRecord[],
    runId: string,
  ): Promise<{ emailed: boolean; error?: string }> {
    let messageId: string | undefined;
    try {
      messageId = (await mailerOrThrow().send({ from: config.alertFromEmail, to: [config.adminEmail], ...content })).messageId;
    } catch (e) {
      const error = errorMessage(e);
      log.error('alert email failed; recorded as unsent, the next run sends it', { error, runId });
      await deps.store.updateAlerts(records, { error: error.slice(0, 1000) });
      for (const r of records) r.error = error;
      for (const c of claims) await deps.store.restoreAlertState(c.key, c.claimed, c.prev);
      return { emailed: false, error };
    }
    // Sent. If recording that fails, the records stay `unsent` and the next run mails again:
    // for an alert, at least once beats at most once.
    const sentAt = clock.now().toISOString();
    await deps.store.updateAlerts(records, { status: 'sent', sent: true, sentAt, messageId });
    for (const r of records) Object.assign(r, { status: 'sent', sent: true, sentAt, ...(messageId ? { messageId } : {}) });
    if (earlier.length) await deps.store.updateAlerts(earlier, { status: 'sent', sent: true, sentAt, messageId, deliveredByRun: runId });
    return { emailed: true };
  }

  async function onReadFailure(err: unknown, ctx: { runId: string; now: Date; thresholds: Thresholds; trigger: 'schedule' | 'manual' }): Promise<MonitorRunResult> {
    const nowIso = ctx.now.toISOString();
    const message = errorMessage(err);
    log.error('could not read the Stripe balance', { error: message, runId: ctx.runId });
    metrics.checkFailed();
    const health = await deps.store.recordCheckFailure(message, nowIso);
    await deps.store.putSnapshot({ snapshotId: ctx.runId, checkedAt: nowIso, ok: false, trigger: ctx.trigger, thresholds: ctx.thresholds, balances: [], error: message });
    const states = await deps.store.getAlertStates();
    const since = new Date(ctx.now.getTime() - 24 * 3_600_000).toISOString();
    const earlier = (await deps.store.listUndeliveredAlerts(since)).filter((a) => a.kind === 'check_failing');
    const failingSince = health.failingSince ?? nowIso;
    const due = shouldMailCheckFailing({
      consecutiveFailures: health.consecutiveFailures,
      failingSince,
      state: states[CHECK_STATE_KEY],
      now: ctx.now,
      repeatHours,
      undelivered: earlier.length > 0,
    });
    let alerts: AlertRecord[] = [];
    let emailed = false;
    if (due) {
      const claims = await claim([{ key: CHECK_STATE_KEY }], states, () => ({ level: 'critical', sentAt: nowIso, runId: ctx.runId }));
      if (claims.length) {
        const content = composeCheckFailingEmail({ consecutiveFailures: health.consecutiveFailures, failingSince, lastError: message, now: nowIso });
        alerts = [
          {
            alertId: newId(),
            runId: ctx.runId,
            kind: 'check_failing',
            currency: null,
            level: 'critical',
            reason: 'check_failing',
            createdAt: nowIso,
            status: 'unsent',
            sent: false,
            subject: content.subject,
            to: config.adminEmail,
          },
        ];
        await deps.store.putAlerts(alerts);
        emailed = (await deliver(alerts, content, claims.map((c) => ({ key: c.item.key, prev: c.prev, claimed: c.claimed })), earlier, ctx.runId)).emailed;
      }
    }
    metrics.alertCount(alerts.length);
    return {
      ok: false,
      runId: ctx.runId,
      summary: null,
      alerts,
      emailed,
      consecutiveFailures: health.consecutiveFailures,
      error: { code: 'payment_provider_error', message: `could not read the Stripe balance: ${message}` },
    };
  }

  /**
   * One monitor run: thresholds (stored/env/defaults, `override` merged over for this run),
   * Stripe's balance, a snapshot, the alert decisions, at most one mail, the alert records.
   */
  async function monitorStripeBalance(override?: Thresholds, opts: MonitorOptions = {}): Promise<MonitorRunResult> {
    const runId = newId();
    const now = clock.now();
    const nowIso = now.toISOString();
    const trigger = opts.trigger ?? 'schedule';
    const thresholds = await loadThresholds(override);

    let entries;
    try {
      entries = await deps.gateway.getBalance();
    } catch (e) {
      return onReadFailure(e, { runId, now, thresholds, trigger });
    }
    await deps.store.recordCheckSuccess(nowIso);

    const summary = buildSummary(entries, thresholds, nowIso);
    for (const row of summary.balances) {
      if (row.level === 'unknown') log.error('balance row could not be evaluated', { currency: row.currency, error: row.error });
      else metrics.available(row.currency, row.available, row.level);
    }
    await deps.store.putSnapshot({ snapshotId: runId, checkedAt: nowIso, ok: true, trigger, thresholds, balances: summary.balances });

    const states = await deps.store.getAlertStates();
    const since = new Date(now.getTime() - 24 * 3_600_000).toISOString();
    const undelivered = await deps.store.listUndeliveredAlerts(since);
    const earlierLow = undelivered.filter((a) => a.kind === 'balance_low' && a.currency);
    const earlierCheck = undelivered.filter((a) => a.kind === 'check_failing');
    // The check works again: an undelivered "check failing" mail is moot.
    if (earlierCheck.length) await deps.store.updateAlerts(earlierCheck, { status: 'superseded' });

    const decisions: AlertDecision[] = decideAlerts({
      balances: summary.balances,
      state: states,
      now,
      repeatHours,
      force: opts.force,
      undelivered: new Set(earlierLow.map((a) => a.currency as string)),
    });

    // Undelivered alerts of currencies no longer at warning/critical: the condition went away.
    const stillLow = new Set(summary.balances.filter((r) => isMailLevel(r.level)).map((r) => r.currency));
    const moot = earlierLow.filter((a) => !stillLow.has(a.currency as string));
    if (moot.length) await deps.store.updateAlerts(moot, { status: 'superseded' });

    let alerts: AlertRecord[] = [];
    let emailed = false;
    let error: MonitorRunResult['error'];
    if (decisions.length) {
      const claims = await claim(
        decisions.map((d) => ({ key: d.row.currency, d })),
        states,
        (x) => ({ level: x.d.row.level, sentAt: nowIso, runId }),
      );
      if (claims.length) {
        const rows: BalanceRow[] = claims.map((c) => c.item.d.row);
        const content = composeAlertEmail(rows, nowIso);
        alerts = claims.map(({ item: { d } }) => ({
          alertId: newId(),
          runId,
          kind: 'balance_low' as const,
          currency: d.row.currency,
          level: d.row.level,
          reason: d.reason,
          available: d.row.available,
          pending: d.row.pending,
          threshold: d.row.threshold,
          createdAt: nowIso,
          status: 'unsent' as const,
          sent: false,
          subject: content.subject,
          to: config.adminEmail,
        }));
        // Recorded before sending: a run that dies mid-send leaves them `unsent` for the next run.
        await deps.store.putAlerts(alerts);
        const mailed = new Set(rows.map((r) => r.currency));
        const delivered = earlierLow.filter((a) => mailed.has(a.currency as string));
        const r = await deliver(alerts, content, claims.map((c) => ({ key: c.item.key, prev: c.prev, claimed: c.claimed })), delivered, runId);
        emailed = r.emailed;
        if (r.error) error = { code: 'email_failed', message: r.error };
      }
    }
    metrics.alertCount(alerts.length);
    log.info('balance monitor run', {
      runId,
      trigger,
      force: !!opts.force,
      levels: Object.fromEntries(summary.balances.map((b) => [b.currency, b.level])),
      alerts: alerts.length,
      emailed,
    });
    return { ok: true, runId, summary, alerts, emailed, consecutiveFailures: 0, ...(error ? { error } : {}) };
  }

  /** The scheduled entry: one run (with the event's `thresholds`/`force`), then metrics flushed. */
  async function runBalanceMonitoring(input: { thresholds?: Thresholds; force?: boolean; trigger?: 'schedule' | 'manual' } = {}): Promise<MonitorRunResult> {
    try {
      return await monitorStripeBalance(input.thresholds, { force: input.force, trigger: input.trigger });
    } finally {
      metrics.publish();
    }
  }

  return {
    loadThresholds,
    getBalanceSummary,
    monitorStripeBalance,
    runBalanceMonitoring,
    checkBalanceForTransfer: (currency: string, amount: number) => checkBalanceForTransfer(deps.gateway, currency, amount),
    listSnapshots: (limit: number): Promise<SnapshotRecord[]> => deps.store.listSnapshots(limit),
    listAlerts: (limit: number): Promise<AlertRecord[]> => deps.store.listAlerts(limit),
    /** The thresholds the scheduled monitor uses now (stored, else env, else defaults). */
    getThresholds: (): Promise<Thresholds> => loadThresholds(),
    putThresholds: (t: Thresholds, by: string) => deps.store.putThresholds(t, { updatedAt: clock.now().toISOString(), updatedBy: by }),
    getCheckHealth: (): Promise<CheckHealth> => deps.store.getCheckHealth(),
  };
}

export type BalanceService = ReturnType<typeof createBalanceService>;
