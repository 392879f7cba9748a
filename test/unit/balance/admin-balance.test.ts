/**
 * Admin balance routes through the real `httpHandler`, with injected dependencies: the store is
 * DynamoDB Local, Stripe a fake gateway, and the monitor runs in-process with a fake mailer.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ensureTable } from '../../../local/dynamodb';
import { lambdaContext } from '../../../local/lambda-context';
import { dynamoClient } from '../../../functions/adapters/dynamo-client';
import { loadConfig } from '../../../functions/adapters/config';
import { createBalanceStore } from '../../../functions/adapters/balance-store';
import { PaymentProviderError } from '../../../functions/adapters/payment-gateway';
import { createInProcessMonitorRunner } from '../../../functions/adapters/monitor-runner';
import { createBalanceService } from '../../../functions/scheduled/balance-service';
import { createAdminBalanceHandler } from '../../../functions/api/admin-balance';
import { apiEvent, FakeClock, FakeGateway, FakeMailer, randomTableName } from './helpers';

let gateway: FakeGateway;
let mailer: FakeMailer;
let clock: FakeClock;
let call: (e: APIGatewayProxyEventV2) => Promise<{ status: number; body: any; headers: Record<string, unknown> }>;

beforeEach(async () => {
  const table = randomTableName('balance-admin');
  await ensureTable(process.env.DYNAMODB_ENDPOINT!, table);
  process.env.TABLE_NAME = table;
  const store = createBalanceStore(dynamoClient(loadConfig()), table);
  gateway = new FakeGateway();
  for (const c of ['usd', 'cad', 'eur']) gateway.set(c, 1_000_000);
  mailer = new FakeMailer();
  clock = new FakeClock();
  const config = { adminEmail: 'admin@rift.test', alertFromEmail: 'alerts@rift.test', alertRepeatHours: 6, balanceThresholdsJson: undefined };
  const service = createBalanceService({ gateway, store, clock, config });
  // "The balance-monitor function": the only one with a mailer.
  const monitor = createBalanceService({ gateway, store, mailer, clock, config });
  const runner = createInProcessMonitorRunner((input) => monitor.runBalanceMonitoring({ ...input, trigger: 'manual' }));
  const h = createAdminBalanceHandler(() => ({ service, runner }));
  call = async (e) => {
    const r = (await h(e, lambdaContext('admin-balance'))) as APIGatewayProxyStructuredResultV2;
    return { status: r.statusCode ?? 0, body: r.body ? JSON.parse(r.body) : undefined, headers: r.headers ?? {} };
  };
});

describe('authorization', () => {
  it.each([
    ['GET', '/api/admin/stripe-balance'],
    ['POST', '/api/admin/stripe-balance'],
    ['GET', '/api/admin/stripe-balance/history'],
    ['GET', '/api/admin/alerts'],
    ['GET', '/api/admin/thresholds'],
    ['PUT', '/api/admin/thresholds'],
  ] as const)('%s %s: 401 without a token, 403 for a non-admin', async (method, path) => {
    const anon = await call(apiEvent(method, path, { sub: null, body: {} }));
    expect(anon.status).toBe(401);
    const user = await call(apiEvent(method, path, { sub: 'user_b', groups: '[ops]', body: { thresholds: { USD: 1 } } }));
    expect(user.status).toBe(403);
    expect(user.body.error).toMatchObject({ code: 'forbidden' });
    expect(user.body.error.requestId).toBe(user.headers['x-request-id']);
    expect(mailer.sent).toHaveLength(0);
  });
});

describe('GET /api/admin/stripe-balance', () => {
  it('the live summary in minor units; stores no snapshot', async () => {
    gateway.set('usd', 5_000);
    const r = await call(apiEvent('GET', '/api/admin/stripe-balance'));
    expect(r.status).toBe(200);
    expect(r.body.checkedAt).toEqual(expect.any(String));
    expect(r.body.balances).toContainEqual({ currency: 'usd', available: 5_000, pending: 0, threshold: 100_000, level: 'critical' });
    const h = await call(apiEvent('GET', '/api/admin/stripe-balance/history'));
    expect(h.body).toEqual({ snapshots: [] });
    expect(mailer.sent).toHaveLength(0);
  });

  it('Stripe down: 502 payment_provider_error', async () => {
    gateway.fail = new PaymentProviderError('unavailable', undefined, 'timeout');
    const r = await call(apiEvent('GET', '/api/admin/stripe-balance'));
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('payment_provider_error');
  });
});

describe('POST /api/admin/stripe-balance', () => {
  it('runs the monitor: { summary, alerts, emailed }, and stores a snapshot', async () => {
    gateway.set('usd', 5_000);
    const r = await call(apiEvent('POST', '/api/admin/stripe-balance', { body: {} }));
    expect(r.status).toBe(200);
    expect(r.body.emailed).toBe(true);
    expect(r.body.summary.balances).toHaveLength(3);
    expect(r.body.alerts).toMatchObject([{ currency: 'usd', level: 'critical', status: 'sent' }]);
    expect(mailer.sent).toHaveLength(1);
    const again = await call(apiEvent('POST', '/api/admin/stripe-balance'));
    expect(again.body).toMatchObject({ emailed: false, alerts: [] });
    const forced = await call(apiEvent('POST', '/api/admin/stripe-balance', { body: { force: true } }));
    expect(forced.body).toMatchObject({ emailed: true, alerts: [{ reason: 'forced' }] });
    const h = await call(apiEvent('GET', '/api/admin/stripe-balance/history'));
    expect(h.body.snapshots).toHaveLength(3);
  });

  it('thresholds apply to this run only (merged over the stored ones, not saved)', async () => {
    await call(apiEvent('PUT', '/api/admin/thresholds', { body: { thresholds: { USD: 500, EUR: 100 } } }));
    const r = await call(apiEvent('POST', '/api/admin/stripe-balance', { body: { thresholds: { USD: 20_000, JPY: 1 } } }));
    expect(r.status).toBe(200);
    expect(r.body.summary.balances.map((b: { currency: string; threshold: number }) => [b.currency, b.threshold])).toEqual([
      ['eur', 10_000],
      ['jpy', 1],
      ['usd', 2_000_000],
    ]);
    expect((await call(apiEvent('GET', '/api/admin/thresholds'))).body).toEqual({ thresholds: { USD: 500, EUR: 100 } });
  });

  it.each([
    [{ force: 'yes' }, 'force'],
    [{ thresholds: { usd: 10 } }, 'thresholds.usd'],
    [{ thresholds: { USD: -1 } }, 'thresholds.USD'],
    [{ thresholds: [1] }, 'thresholds'],
    [{ extra: 1 }, ''],
  ])('400 validation_error for %j', async (body, path) => {
    const r = await call(apiEvent('POST', '/api/admin/stripe-balance', { body }));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_error');
    expect(r.body.error.details.issues.length).toBeGreaterThan(0);
    if (path) expect(r.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    expect(mailer.sent).toHaveLength(0);
  });

  it('invalid JSON: 400 invalid_json', async () => {
    const r = await call(apiEvent('POST', '/api/admin/stripe-balance', { rawBody: '{nope' }));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_json');
  });

  it('Stripe unreadable: 502 payment_provider_error, the failed check recorded', async () => {
    gateway.fail = new Error('connect ECONNREFUSED');
    const r = await call(apiEvent('POST', '/api/admin/stripe-balance'));
    expect(r.status).toBe(502);
    expect(r.body.error).toMatchObject({ code: 'payment_provider_error', details: { consecutiveFailures: 1 } });
    const h = await call(apiEvent('GET', '/api/admin/stripe-balance/history'));
    expect(h.body.snapshots[0]).toMatchObject({ ok: false });
  });
});

describe('history and alerts', () => {
  it('newest first, with ?limit', async () => {
    gateway.set('usd', 20_000);
    await call(apiEvent('POST', '/api/admin/stripe-balance'));
    clock.advanceHours(1);
    gateway.set('usd', 5_000);
    await call(apiEvent('POST', '/api/admin/stripe-balance'));
    const h = await call(apiEvent('GET', '/api/admin/stripe-balance/history', { query: { limit: '1' } }));
    expect(h.body.snapshots).toHaveLength(1);
    expect(h.body.snapshots[0].balances.find((b: { currency: string }) => b.currency === 'usd').available).toBe(5_000);
    const a = await call(apiEvent('GET', '/api/admin/alerts'));
    expect(a.body.alerts.map((x: { level: string; reason: string }) => [x.level, x.reason])).toEqual([
      ['critical', 'escalation'],
      ['warning', 'first'],
    ]);
    expect((await call(apiEvent('GET', '/api/admin/alerts', { query: { limit: '0' } }))).status).toBe(400);
    expect((await call(apiEvent('GET', '/api/admin/stripe-balance/history', { query: { limit: 'abc' } }))).status).toBe(400);
  });
});

describe('thresholds', () => {
  it('GET gives the defaults until some are stored; PUT replaces the stored set', async () => {
    expect((await call(apiEvent('GET', '/api/admin/thresholds'))).body).toEqual({ thresholds: { USD: 1000, CAD: 1000, EUR: 1000 } });
    const put = await call(apiEvent('PUT', '/api/admin/thresholds', { body: { thresholds: { USD: 2500.5, JPY: 100_000, KWD: 300 } } }));
    expect(put).toMatchObject({ status: 200, body: { thresholds: { USD: 2500.5, JPY: 100_000, KWD: 300 } } });
    await call(apiEvent('PUT', '/api/admin/thresholds', { body: { GBP: 10 } })); // the bare map is accepted too
    expect((await call(apiEvent('GET', '/api/admin/thresholds'))).body).toEqual({ thresholds: { GBP: 10 } });
    // ...and the scheduled monitor uses them
    gateway.set('gbp', 99);
    const r = await call(apiEvent('POST', '/api/admin/stripe-balance'));
    expect(r.body.summary.balances).toEqual([{ currency: 'gbp', available: 99, pending: 0, threshold: 1000, level: 'critical' }]);
  });

  it.each([
    [{ thresholds: { usd: 100 } }, 'thresholds.usd', 'unknown currency'],
    [{ thresholds: { XYZ: 100 } }, 'thresholds.XYZ', 'unknown currency'],
    [{ thresholds: { USD: -5 } }, 'thresholds.USD', 'negative'],
    [{ thresholds: { USD: '100' } }, 'thresholds.USD', 'finite number'],
    [{ thresholds: { USD: null } }, 'thresholds.USD', 'finite number'],
    [{ thresholds: 'all' }, 'thresholds', ''],
    [{ thresholds: { USD: 1 }, extra: true }, '', ''],
  ])('400 validation_error for %j', async (body, path, message) => {
    const r = await call(apiEvent('PUT', '/api/admin/thresholds', { body }));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_error');
    const issues = r.body.error.details.issues as { path: string; message: string }[];
    if (path) expect(issues.find((i) => i.path === path)?.message ?? '').toContain(message);
    expect((await call(apiEvent('GET', '/api/admin/thresholds'))).body).toEqual({ thresholds: { USD: 1000, CAD: 1000, EUR: 1000 } });
  });
});
