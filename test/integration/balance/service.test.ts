/**
 * The balance service against DynamoDB Local (real store), with a fake Stripe gateway, a fake
 * mailer and a fake clock: the monitor's decisions and failure behaviour, end to end in the store.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../../local/dynamodb';
import { dynamoClient } from '../../../functions/adapters/dynamo-client';
import { loadConfig } from '../../../functions/adapters/config';
import { createBalanceStore, type BalanceStore } from '../../../functions/adapters/balance-store';
import { createBalanceService, type BalanceMetrics } from '../../../functions/scheduled/balance-service';
import { FakeClock, FakeGateway, FakeMailer, randomTableName } from '../../unit/balance/helpers';

const endpoint = process.env.DYNAMODB_ENDPOINT!;
const config = { adminEmail: 'ops@example.com', alertFromEmail: 'alerts@example.com', alertRepeatHours: 6, balanceThresholdsJson: undefined as string | undefined };

let tableName: string;
let store: BalanceStore;
let gateway: FakeGateway;
let mailer: FakeMailer;
let clock: FakeClock;
let metricCalls: { available: [string, number][]; alertCount: number[]; checkFailed: number; published: number };

function service(over: Partial<typeof config> = {}) {
  const metrics: BalanceMetrics = {
    available: (c, a) => metricCalls.available.push([c, a]),
    alertCount: (n) => metricCalls.alertCount.push(n),
    checkFailed: () => metricCalls.checkFailed++,
    publish: () => metricCalls.published++,
  };
  return createBalanceService({ gateway, store, mailer, clock, config: { ...config, ...over }, metrics });
}

beforeEach(async () => {
  tableName = randomTableName();
  await ensureTable(endpoint, tableName);
  store = createBalanceStore(dynamoClient(loadConfig({ ...process.env, TABLE_NAME: tableName })), tableName);
  gateway = new FakeGateway();
  for (const c of ['usd', 'cad', 'eur']) gateway.set(c, 1_000_000);
  mailer = new FakeMailer();
  clock = new FakeClock();
  metricCalls = { available: [], alertCount: [], checkFailed: 0, published: 0 };
});

describe('monitor runs', () => {
  it('healthy balances: a snapshot, no mail; a summary GET stores nothing', async () => {
    const s = service();
    const r = await s.runBalanceMonitoring();
    expect(r.ok).toBe(true);
    expect(r.emailed).toBe(false);
    expect(r.summary?.balances.map((b) => [b.currency, b.level])).toEqual([
      ['cad', 'ok'],
      ['eur', 'ok'],
      ['usd', 'ok'],
    ]);
    expect(mailer.sent).toHaveLength(0);
    expect(await store.listSnapshots(10)).toHaveLength(1);
    const summary = await s.getBalanceSummary();
    expect(summary.balances).toHaveLength(3);
    expect(await store.listSnapshots(10)).toHaveLength(1);
    expect(metricCalls.available).toEqual([
      ['cad', 1_000_000],
      ['eur', 1_000_000],
      ['usd', 1_000_000],
    ]);
    expect(metricCalls.alertCount).toEqual([0]);
    expect(metricCalls.published).toBe(1);
  });

  it('low balance mails once; the next run sends nothing new; escalation sends; a drop does not; the window repeats', async () => {
    const s = service();
    gateway.set('usd', 25_000); // 25 % of 1000 USD: warning
    const r1 = await s.runBalanceMonitoring();
    expect(r1.emailed).toBe(true);
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]).toMatchObject({ to: ['ops@example.com'], from: 'alerts@example.com', subject: '[WARNING] Stripe balance low: USD' });
    expect(r1.alerts).toMatchObject([{ currency: 'usd', level: 'warning', reason: 'first', status: 'sent', sent: true }]);

    clock.advanceHours(0.5);
    const r2 = await s.runBalanceMonitoring();
    expect(r2.emailed).toBe(false);
    expect(r2.alerts).toEqual([]);
    expect(mailer.sent).toHaveLength(1);

    clock.advanceHours(0.5);
    gateway.set('usd', 5_000); // critical: escalation
    gateway.set('eur', 50_000); // info: never mailed
    const r3 = await s.runBalanceMonitoring();
    expect(r3.alerts.map((a) => [a.currency, a.reason])).toEqual([['usd', 'escalation']]);
    expect(mailer.sent[1]?.subject).toBe('[CRITICAL] Stripe balance low: USD');

    clock.advanceHours(0.5);
    gateway.set('usd', 20_000); // back to warning: a drop, silent
    expect((await s.runBalanceMonitoring()).emailed).toBe(false);
    gateway.set('usd', 5_000); // back to critical within the window: same level as sent, silent
    expect((await s.runBalanceMonitoring()).emailed).toBe(false);

    clock.advanceHours(6);
    const r6 = await s.runBalanceMonitoring();
    expect(r6.alerts.map((a) => [a.currency, a.reason])).toEqual([['usd', 'repeat']]);
    expect(mailer.sent).toHaveLength(3);
    expect(await store.listSnapshots(100)).toHaveLength(6);
  });

  it('one email per run for several currencies, subject with the worst level', async () => {
    gateway.set('usd', 20_000);
    gateway.set('eur', 1_000);
    const r = await service().runBalanceMonitoring();
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]?.subject).toBe('[CRITICAL] Stripe balance low: EUR, USD');
    expect(r.alerts.map((a) => a.currency).sort()).toEqual(['eur', 'usd']);
    expect(metricCalls.alertCount).toEqual([2]);
  });

  it('force re-sends within the window, but never mails a run with only info levels', async () => {
    const s = service();
    gateway.set('usd', 5_000);
    await s.runBalanceMonitoring();
    expect((await s.runBalanceMonitoring({ force: true })).alerts.map((a) => a.reason)).toEqual(['forced']);
    expect(mailer.sent).toHaveLength(2);

    gateway.set('usd', 50_000); // info
    const r = await s.runBalanceMonitoring({ force: true });
    expect(r.emailed).toBe(false);
    expect(mailer.sent).toHaveLength(2);
  });

  it('stored thresholds change the run; a run override is merged over them and not saved', async () => {
    const s = service();
    gateway.set('usd', 150_000); // 1500 USD: ok at 1000
    await s.putThresholds({ USD: 10_000, JPY: 100_000 }, 'admin_1');
    const r = await s.runBalanceMonitoring();
    expect(r.summary?.balances.map((b) => [b.currency, b.threshold, b.level])).toEqual([
      ['jpy', 100_000, 'critical'], // not in Stripe's balance: available 0
      ['usd', 1_000_000, 'warning'],
    ]);
    expect(mailer.sent.at(-1)?.subject).toBe('[CRITICAL] Stripe balance low: JPY, USD');

    clock.advanceHours(0.1);
    const o = await s.monitorStripeBalance({ GBP: 10 }, { trigger: 'manual' });
    expect(o.summary?.balances.map((b) => b.currency)).toEqual(['gbp', 'jpy', 'usd']);
    expect(await s.getThresholds()).toEqual({ USD: 10_000, JPY: 100_000 });
    const snaps = await store.listSnapshots(10);
    expect(snaps[0]?.trigger).toBe('manual');
    expect(snaps[0]?.thresholds).toEqual({ USD: 10_000, JPY: 100_000, GBP: 10 });
  });

  it('BALANCE_THRESHOLDS from the environment when nothing is stored', async () => {
    gateway.set('gbp', 100);
    const r = await service({ balanceThresholdsJson: '{"GBP":100,"usd":5}' }).runBalanceMonitoring();
    expect(r.summary?.balances.map((b) => b.currency)).toEqual(['gbp']);
  });

  it("one currency's bad data never hides the others", async () => {
    gateway.entries = [
      { currency: 'usd', available: Number.NaN, pending: 0 },
      { currency: 'eur', available: 1_000, pending: 0 },
    ];
    const r = await service().runBalanceMonitoring();
    const by = Object.fromEntries(r.summary!.balances.map((b) => [b.currency, b.level]));
    expect(by).toEqual({ usd: 'unknown', eur: 'critical', cad: 'critical' });
    expect(mailer.sent[0]?.subject).toBe('[CRITICAL] Stripe balance low: CAD, EUR');
  });

  it('snapshots and alerts are listed newest first, with a 90-day TTL', async () => {
    const s = service();
    gateway.set('usd', 1_000);
    await s.runBalanceMonitoring();
    clock.advanceHours(7);
    gateway.set('usd', 900);
    await s.runBalanceMonitoring();
    const snaps = await s.listSnapshots(10);
    expect(snaps.map((x) => x.balances.find((b) => b.currency === 'usd')?.available)).toEqual([900, 1_000]);
    const alerts = await s.listAlerts(10);
    expect(alerts.map((a) => a.reason)).toEqual(['repeat', 'first']);
    const raw = await dynamoClient(loadConfig()).send(
      new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :s)', ExpressionAttributeValues: { ':pk': 'BALANCE', ':s': 'SNAPSHOT#' } }),
    );
    const item = raw.Items![0]!;
    expect(item.expiresAt).toBe(Math.floor(Date.parse(item.checkedAt as string) / 1000) + 90 * 86_400);
  });
});

describe('failure behaviour', () => {
  it('SES failure: the alert is recorded unsent, and the next run sends it', async () => {
    const s = service();
    gateway.set('usd', 5_000);
    mailer.failNext = 1;
    const r1 = await s.runBalanceMonitoring();
    expect(r1.ok).toBe(true);
    expect(r1.emailed).toBe(false);
    expect(r1.error?.code).toBe('email_failed');
    expect(r1.alerts).toMatchObject([{ currency: 'usd', status: 'unsent', sent: false, error: 'SES is down' }]);
    expect((await store.getAlertStates()).usd).toBeUndefined(); // state = last level SENT

    clock.advanceHours(0.5);
    const r2 = await s.runBalanceMonitoring();
    expect(r2.emailed).toBe(true);
    expect(mailer.sent).toHaveLength(1);
    const alerts = await store.listAlerts(10);
    expect(alerts.map((a) => [a.status, a.runId])).toEqual([
      ['sent', r2.runId],
      ['sent', r1.runId],
    ]);
    expect(alerts[1]?.deliveredByRun).toBe(r2.runId);

    clock.advanceHours(0.5);
    expect((await s.runBalanceMonitoring()).emailed).toBe(false);
  });

  it('SES failure of a forced re-send within the window: retried by the next scheduled run', async () => {
    const s = service();
    gateway.set('usd', 5_000);
    await s.runBalanceMonitoring();
    mailer.failNext = 1;
    expect((await s.runBalanceMonitoring({ force: true })).emailed).toBe(false);
    const r = await s.runBalanceMonitoring();
    expect(r.alerts.map((a) => a.reason)).toEqual(['retry']);
    expect(mailer.sent).toHaveLength(2);
  });

  it('SES failure, then the balance recovers: the undelivered alert is superseded, nothing mailed', async () => {
    const s = service();
    gateway.set('usd', 5_000);
    mailer.failNext = 1;
    await s.runBalanceMonitoring();
    gateway.set('usd', 1_000_000);
    expect((await s.runBalanceMonitoring()).emailed).toBe(false);
    expect((await store.listAlerts(10)).map((a) => a.status)).toEqual(['superseded']);
  });

  it('Stripe unreadable: failed check recorded; after two failed runs in a row, "balance check failing" is mailed once', async () => {
    const s = service();
    gateway.fail = new Error('connect ECONNREFUSED');
    const r1 = await s.runBalanceMonitoring();
    expect(r1).toMatchObject({ ok: false, emailed: false, consecutiveFailures: 1, summary: null });
    expect(r1.error?.code).toBe('payment_provider_error');
    expect(mailer.sent).toHaveLength(0);
    expect((await store.listSnapshots(1))[0]).toMatchObject({ ok: false, error: 'connect ECONNREFUSED' });

    clock.advanceHours(0.5);
    const r2 = await s.runBalanceMonitoring();
    expect(r2).toMatchObject({ ok: false, emailed: true, consecutiveFailures: 2 });
    expect(mailer.sent[0]?.subject).toMatch(/balance check failing \(2 runs in a row\)/);
    expect(mailer.sent[0]?.text).toContain('ECONNREFUSED');
    expect(r2.alerts).toMatchObject([{ kind: 'check_failing', currency: null, status: 'sent' }]);

    clock.advanceHours(0.5);
    expect((await s.runBalanceMonitoring()).emailed).toBe(false);
    expect(metricCalls.checkFailed).toBe(3);

    // Back: the counter resets; one later failure alone mails nothing.
    gateway.fail = null;
    expect((await s.runBalanceMonitoring()).ok).toBe(true);
    expect((await store.getCheckHealth()).consecutiveFailures).toBe(0);
    gateway.fail = new Error('boom');
    clock.advanceHours(0.5);
    expect((await s.runBalanceMonitoring()).emailed).toBe(false);
    // A new streak mails again even within the repeat window.
    clock.advanceHours(0.5);
    expect((await s.runBalanceMonitoring()).emailed).toBe(true);
    expect(mailer.sent).toHaveLength(2);
  });

  it('claiming an alert state is exact: a second run that saw the same state loses, even in the same millisecond', async () => {
    const t = '2026-12-04T10:00:00.000Z';
    expect(await store.claimAlertState('usd', undefined, { level: 'warning', sentAt: t, runId: 'r0' })).toBe(true);
    const seen = { level: 'warning' as const, sentAt: t, runId: 'r0' };
    // Both runs saw r0's state and escalate at the same instant: only one may win.
    expect(await store.claimAlertState('usd', seen, { level: 'critical', sentAt: t, runId: 'rA' })).toBe(true);
    expect(await store.claimAlertState('usd', seen, { level: 'critical', sentAt: t, runId: 'rB' })).toBe(false);
  });

  it('two concurrent runs never mail the same currency twice', async () => {
    gateway.set('usd', 5_000);
    const [a, b] = await Promise.all([service().runBalanceMonitoring(), service().runBalanceMonitoring()]);
    expect(mailer.sent).toHaveLength(1);
    expect([a.emailed, b.emailed].sort()).toEqual([false, true]);
  });
});

describe('checkBalanceForTransfer', () => {
  it('compares Stripe available in the currency with the amount', async () => {
    gateway.set('usd', 10_000);
    const s = service();
    expect(await s.checkBalanceForTransfer('usd', 10_000)).toEqual({ ok: true, currency: 'usd', available: 10_000, required: 10_000 });
    expect(await s.checkBalanceForTransfer('USD', 10_001)).toEqual({ ok: false, currency: 'usd', available: 10_000, required: 10_001 });
    expect(await s.checkBalanceForTransfer('jpy', 1)).toEqual({ ok: false, currency: 'jpy', available: 0, required: 1 });
    gateway.fail = new Error('down');
    await expect(s.checkBalanceForTransfer('usd', 1)).rejects.toThrow('down');
  });
});
