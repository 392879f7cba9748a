/**
 * The balance monitor end to end on the local parts: the Stripe emulator (through the real
 * Stripe SDK), aws-ses-v2-local (mail read back from `GET /store`), DynamoDB Local. The admin
 * routes run through the real `httpHandler` and reach the monitor like the local stack does
 * (`POST ${LOCAL_INVOKE_URL}/_local/invoke/balance-monitor`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ensureTable } from '../../../local/dynamodb';
import { startSesLocal, readMail, clearMail, type SesLocal, type StoredEmail } from '../../../local/ses';
import { startStripeEmulator, type StripeEmulator } from '../../../local/stripe-emulator';
import { lambdaContext } from '../../../local/lambda-context';
import { handler as monitorHandler } from '../../../functions/scheduled/balance-monitor';
import { handler as adminHandler } from '../../../functions/api/admin-balance';
import { apiEvent, randomTableName, scheduledEvent } from '../../unit/balance/helpers';

let emu: StripeEmulator;
let ses: SesLocal;
let invokeServer: http.Server;

beforeAll(async () => {
  emu = await startStripeEmulator({ port: 0 });
  ses = await startSesLocal({ port: 0 });
  // The local stack's `/_local/invoke/{fn}`: the JSON body merged into the EventBridge detail.
  invokeServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      try {
        if (req.url !== '/_local/invoke/balance-monitor' || req.method !== 'POST') throw new Error(`unexpected ${req.method} ${req.url}`);
        const out = await monitorHandler(scheduledEvent(body ? JSON.parse(body) : {}), lambdaContext('balance-monitor'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out));
      } catch (e) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'internal_error', message: (e as Error).message } }));
      }
    });
  });
  await new Promise<void>((r) => invokeServer.listen(0, '127.0.0.1', () => r()));
  Object.assign(process.env, {
    STRIPE_SECRET_KEY: 'sk_test_local',
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(emu.port),
    STRIPE_API_PROTOCOL: 'http',
    STRIPE_MAX_NETWORK_RETRIES: '0',
    SES_ENDPOINT: ses.url,
    ADMIN_EMAIL: 'admin@rift.local',
    ALERT_FROM_EMAIL: 'alerts@rift.local',
    LOCAL_INVOKE_URL: `http://127.0.0.1:${(invokeServer.address() as AddressInfo).port}`,
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
});

afterAll(async () => {
  await new Promise<void>((r) => invokeServer?.close(() => r()));
  await ses?.close();
  await emu?.close();
});

beforeEach(async () => {
  const table = randomTableName();
  await ensureTable(process.env.DYNAMODB_ENDPOINT!, table);
  process.env.TABLE_NAME = table;
  emu.reset();
  await clearMail(ses.url);
});

async function setBalance(currency: string, available: number) {
  const res = await fetch(`${emu.url}/_emulator/balance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ currency, available }) });
  expect(res.status).toBe(200);
}

const runMonitor = (detail: Record<string, unknown> = {}) => monitorHandler(scheduledEvent(detail), lambdaContext('balance-monitor'));

async function admin(e: APIGatewayProxyEventV2) {
  const r = (await adminHandler(e, lambdaContext('admin-balance'))) as APIGatewayProxyStructuredResultV2;
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
}

/** The cells of each `<tr data-currency>` of the mail's HTML table. */
function tableRows(mail: StoredEmail): string[][] {
  const trs = mail.body.html?.match(/<tr data-currency="[a-z]+">.*?<\/tr>/g) ?? [];
  return trs.map((tr) => [...tr.matchAll(/<td[^>]*>(?:<strong[^>]*>)?(.*?)(?:<\/strong>)?<\/td>/g)].map((m) => m[1] ?? ''));
}

describe('balance monitor with the Stripe emulator and SES local', () => {
  it('low balance: one email to ADMIN_EMAIL with the table; a second run sends nothing new', async () => {
    await setBalance('usd', 5_000); // 50.00 of 1000 USD: critical
    const r = await runMonitor();
    expect(r).toMatchObject({ ok: true, emailed: true });

    const mails = await readMail(ses.url);
    expect(mails).toHaveLength(1);
    const m = mails[0]!;
    expect(m.destination.to).toEqual(['admin@rift.local']);
    expect(m.from).toBe('alerts@rift.local');
    expect(m.subject).toBe('[CRITICAL] Stripe balance low: USD');
    const rows = tableRows(m);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.slice(0, 6)).toEqual(['USD', '50.00', '0.00', '1000.00', '5%', 'critical']);
    expect(rows[0]![6]).toMatch(/Top up/);
    expect(m.body.text).toContain('USD: available 50.00');

    const again = await runMonitor();
    expect(again).toMatchObject({ ok: true, emailed: false, alerts: [] });
    expect(await readMail(ses.url)).toHaveLength(1);
  });

  it('escalation from warning to critical sends; the subject names the worst level among the currencies', async () => {
    await setBalance('usd', 25_000); // warning
    await runMonitor();
    let mails = await readMail(ses.url);
    expect(mails.map((x) => x.subject)).toEqual(['[WARNING] Stripe balance low: USD']);

    await setBalance('usd', 9_999); // critical
    await setBalance('eur', 20_000); // warning, first time
    await runMonitor();
    mails = await readMail(ses.url);
    expect(mails).toHaveLength(2);
    expect(mails[1]!.subject).toBe('[CRITICAL] Stripe balance low: USD, EUR');
    expect(tableRows(mails[1]!).map((r) => [r[0], r[5]])).toEqual([
      ['USD', 'critical'],
      ['EUR', 'warning'],
    ]);
  });

  it('force sends again; never for only info levels', async () => {
    await setBalance('cad', 20_000);
    await runMonitor();
    await runMonitor({ force: true });
    expect(await readMail(ses.url)).toHaveLength(2);
    await setBalance('cad', 50_000); // info
    expect(await runMonitor({ force: true })).toMatchObject({ emailed: false });
    expect(await readMail(ses.url)).toHaveLength(2);
  });

  it('the stored thresholds change what the scheduled run does', async () => {
    // Emulator: 10,000.00 of each currency. Nothing is low at the defaults.
    expect(await runMonitor()).toMatchObject({ emailed: false });
    const put = await admin(apiEvent('PUT', '/api/admin/thresholds', { body: { thresholds: { GBP: 50_000, USD: 1000 } } }));
    expect(put.status).toBe(200);
    const r = await runMonitor();
    expect(r.summary?.balances.map((b) => [b.currency, b.level])).toEqual([
      ['gbp', 'warning'],
      ['usd', 'ok'],
    ]);
    const mails = await readMail(ses.url);
    expect(mails.map((x) => x.subject)).toEqual(['[WARNING] Stripe balance low: GBP']);
    expect(tableRows(mails[0]!)[0]!.slice(0, 5)).toEqual(['GBP', '10000.00', '0.00', '50000.00', '20%']);
  });

  it('admin POST runs the monitor in the balance-monitor function and answers { summary, alerts, emailed }', async () => {
    await setBalance('eur', 1_000);
    const r = await admin(apiEvent('POST', '/api/admin/stripe-balance', { body: { thresholds: { JPY: 500 } } }));
    expect(r.status).toBe(200);
    expect(r.body.emailed).toBe(true);
    expect(r.body.summary.balances.find((b: { currency: string }) => b.currency === 'jpy')).toEqual({
      currency: 'jpy',
      available: 0,
      pending: 0,
      threshold: 500,
      level: 'critical',
    });
    expect(r.body.alerts.map((a: { currency: string }) => a.currency).sort()).toEqual(['eur', 'jpy']);
    expect((await readMail(ses.url)).map((x) => x.subject)).toEqual(['[CRITICAL] Stripe balance low: EUR, JPY']);

    const summary = await admin(apiEvent('GET', '/api/admin/stripe-balance'));
    expect(summary.status).toBe(200);
    expect(summary.body.balances.map((b: { currency: string }) => b.currency)).toEqual(['cad', 'eur', 'usd']); // override not saved
    const history = await admin(apiEvent('GET', '/api/admin/stripe-balance/history'));
    expect(history.body.snapshots).toHaveLength(1); // the GET stored nothing
    const alerts = await admin(apiEvent('GET', '/api/admin/alerts'));
    expect(alerts.body.alerts).toHaveLength(2);
    const forbidden = await admin(apiEvent('POST', '/api/admin/stripe-balance', { sub: 'user_s', groups: '[]' }));
    expect(forbidden.status).toBe(403);
  });

  it('Stripe failing twice in a row mails "balance check failing"', async () => {
    await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'GET', path: '/v1/balance', fault: 'error_500', times: 2 }),
    });
    expect(await runMonitor()).toMatchObject({ ok: false, emailed: false });
    expect(await runMonitor()).toMatchObject({ ok: false, emailed: true });
    const mails = await readMail(ses.url);
    expect(mails.map((x) => x.subject)).toEqual(['[CRITICAL] Stripe balance check failing (2 runs in a row)']);
    expect(await runMonitor()).toMatchObject({ ok: true, consecutiveFailures: 0 });
  });
});
