/**
 * Cost per operation: DynamoDB calls and consumed capacity, Stripe calls (and SES calls), counted
 * in-process. The handler modules are called directly with API Gateway v2 events (the same
 * `buildEvent` the local API uses) in this process, so the shared clients are the ones counted.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { buildEvent, importHandler, scheduledEvent } from '../local/api-gateway';
import { lambdaContext } from '../local/lambda-context';
import { ROUTES, type ApiFunctionName } from '../functions/routes';
import { loadConfig } from '../functions/adapters/config';
import { baseDynamoClient } from '../functions/adapters/dynamo-client';
import { stripeClient } from '../functions/adapters/stripe-gateway';
import { sesClient } from '../functions/adapters/ses-mailer';
import { instrumentDynamo, instrumentSes, instrumentStripe, measure, newCounts, unattributed, type Counts } from './lib/instrument';
import { ADMIN, BUYER, SELLER, createBody } from './lib/fixtures';

export interface CostRow {
  op: string;
  status: number | string;
  counts: Counts;
  note?: string;
}

type Lambda = (e: unknown, c: Context) => Promise<{ statusCode: number; body?: string }>;

export async function measureCost(log: (l: string) => void): Promise<CostRow[]> {
  const config = loadConfig();
  const undo = [instrumentDynamo(baseDynamoClient(config)), instrumentStripe(await stripeClient(config)), instrumentSes(sesClient(config))];
  const handlers = new Map<ApiFunctionName, Lambda>();
  const handlerFor = async (fn: ApiFunctionName) => {
    let h = handlers.get(fn);
    if (!h) handlers.set(fn, (h = (await importHandler(fn)) as Lambda));
    return h;
  };

  async function call(method: string, url: string, who: { sub: string; admin?: boolean }, body?: unknown, headers: Record<string, string> = {}) {
    const path = url.split('?')[0]!;
    const route = ROUTES.find((r) => r.method === method && new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path))!;
    const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const values = new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '([^/]+)')}$`).exec(path)!.slice(1);
    const pathParameters = names.length ? Object.fromEntries(names.map((n, i) => [n, values[i]!])) : undefined;
    const raw = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const rawHeaders = ['host', '127.0.0.1', ...(raw ? ['content-type', 'application/json'] : []), ...Object.entries(headers).flat()];
    const claims: Record<string, string> = { sub: who.sub, ...(who.admin ? { 'cognito:groups': '[admin]' } : {}) };
    const event = buildEvent({ method, url, rawHeaders, body: raw }, { route, pathParameters }, { requestId: randomBytes(12).toString('base64url'), claims });
    const res = await (await handlerFor(route.fn))(event, lambdaContext(route.fn));
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  }

  const rows: CostRow[] = [];
  async function op(name: string, fn: () => Promise<{ status: number | string; body?: any }>, note?: string) {
    const counts = newCounts();
    const r = await measure(counts, fn);
    rows.push({ op: name, status: r.status, counts, ...(note ? { note } : {}) });
    log(`  ${name.padEnd(34)} ${String(r.status).padEnd(4)} ddb ${counts.dynamo} (${Object.entries(counts.dynamoByCommand).map(([k, v]) => `${k.replace(/Command$/, '')}×${v}`).join(' ')}) cap ${counts.capacity} stripe ${counts.stripe} (${counts.stripeCalls.join(', ')})${counts.ses ? ` ses ${counts.ses}` : ''}`);
    return r;
  }

  const buyer = { sub: BUYER };
  const seller = { sub: SELLER };
  const admin = { sub: ADMIN, admin: true };
  const key = () => `bench-${randomBytes(6).toString('hex')}`;

  // Warm every path once (module load, client creation, Stripe client promise) — not counted.
  {
    const c = await call('POST', '/api/rifts', buyer, createBody(2));
    await call('POST', `/api/rifts/${c.body.riftId}/fund`, buyer, { paymentMethodId: 'pm_card_visa' });
    await call('POST', `/api/rifts/${c.body.riftId}/milestones/0/release`, buyer, {}, { 'idempotency-key': key() });
    await (await importHandler('balance-monitor'))(scheduledEvent('balance-monitor'), lambdaContext('balance-monitor'));
    await new Promise((r) => setTimeout(r, 500));
  }

  const created = await op('create rift (4 milestones)', () => call('POST', '/api/rifts', buyer, createBody(4)));
  const riftId = created.body.riftId as string;
  unattributed.counts = newCounts();
  await op('fund', () => call('POST', `/api/rifts/${riftId}/fund`, buyer, { paymentMethodId: 'pm_card_visa' }));
  // The emulator's payment_intent.succeeded webhook arrives asynchronously through the local API.
  const deadline = Date.now() + 3000;
  let last = -1;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    if (unattributed.counts.dynamo > 0 && unattributed.counts.dynamo === last) break;
    last = unattributed.counts.dynamo;
  }
  rows.push({ op: 'fund: its webhook (async, stripe-webhook)', status: 'async', counts: unattributed.counts, note: 'payment_intent.succeeded for an already funded rift' });
  unattributed.counts = newCounts();

  await op('release (no Idempotency-Key)', () => call('POST', `/api/rifts/${riftId}/milestones/0/release`, buyer, {}));
  const k = key();
  await op('release (Idempotency-Key)', () => call('POST', `/api/rifts/${riftId}/milestones/1/release`, buyer, {}, { 'idempotency-key': k }));
  await op('release replay (same key)', () => call('POST', `/api/rifts/${riftId}/milestones/1/release`, buyer, {}, { 'idempotency-key': k }));
  await op('release refused (already released)', () => call('POST', `/api/rifts/${riftId}/milestones/0/release`, buyer, {}));
  await op('refund 100 (Idempotency-Key, required)', () => call('POST', `/api/rifts/${riftId}/refunds`, seller, { amount: 100 }, { 'idempotency-key': key() }));
  await op('dispute open (no Idempotency-Key)', () => call('POST', `/api/rifts/${riftId}/disputes`, buyer, { reason: 'bench' }));

  const monitor = (await importHandler('balance-monitor')) as unknown as (e: unknown, c: Context) => Promise<{ ok?: boolean; emailed?: boolean }>;
  await op('balance-monitor run (scheduled, no alert)', async () => {
    const r = await monitor(scheduledEvent('balance-monitor'), lambdaContext('balance-monitor'));
    return { status: r?.ok === false ? 'failed' : 'ok' };
  });
  await op('balance-monitor run (alerting, mails)', async () => {
    const r = await monitor(scheduledEvent('balance-monitor', { thresholds: { USD: 99_999_999 }, force: true }), lambdaContext('balance-monitor'));
    return { status: r?.ok === false ? 'failed' : `ok${r?.emailed ? ', mailed' : ''}` };
  });

  for (const u of undo) u();
  return rows;
}
