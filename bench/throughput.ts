/**
 * Throughput and latency of a release at concurrency 1, 10 and 50, three ways, in one run:
 *  - api:       POST …/release through the local API (real HTTP, JWT check, API Gateway v2 event, handler)
 *  - in-process: the release handler module called directly with the same API Gateway v2 event (no HTTP)
 *  - floor:     the same DynamoDB and Stripe calls the handler makes, straight from the SDKs:
 *               GetItem rift → Stripe balance.retrieve → TransactWrite reserve (3 items) →
 *               Stripe transfers.create → TransactWrite complete (3 items)
 * Every release is of a distinct milestone; each worker owns its rifts, so no two concurrent
 * releases touch the same rift. Rifts are created and funded through the API beforehand (not timed).
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { buildEvent, importHandler } from '../local/api-gateway';
import { lambdaContext } from '../local/lambda-context';
import { ROUTES } from '../functions/routes';
import { loadConfig } from '../functions/adapters/config';
import type { HttpClient } from './lib/http';
import { createFundedRifts, BUYER, MILESTONE_AMOUNT, SELLER_ACCOUNT, type Tokens } from './lib/fixtures';
import { runWorkers, summarize, type RunStats } from './lib/stats';

export type Mode = 'api' | 'in-process' | 'floor';
export interface ThroughputRow {
  mode: Mode;
  concurrency: number;
  stats: RunStats;
}

export interface ThroughputPlan {
  /** releases per worker, per concurrency (the measured part). */
  perWorker: Record<number, number>;
  /** unmeasured releases per worker before each measured run. */
  warmupPerWorker: number;
  /** unmeasured releases per worker (10 workers) per mode before anything is measured. */
  globalWarmupPerWorker: number;
  /** each measurement is split in this many rounds, the modes interleaved. */
  rounds: number;
}

export const DEFAULT_PLAN: ThroughputPlan = { perWorker: { 1: 60, 10: 30, 50: 10 }, warmupPerWorker: 1, globalWarmupPerWorker: 10, rounds: 2 };

/** A worker's milestones: (riftId, index) pairs over rifts it alone uses. */
type Slots = { riftId: string; index: number }[];

async function allocate(api: HttpClient, t: Tokens, concurrency: number, perWorker: number): Promise<Slots[]> {
  const per = Math.min(perWorker, 25);
  const riftsPerWorker = Math.ceil(perWorker / per);
  const rifts = await createFundedRifts(api, t, concurrency * riftsPerWorker, per, 8);
  return Array.from({ length: concurrency }, (_, w) => {
    const slots: Slots = [];
    for (let r = 0; r < riftsPerWorker; r++) {
      const rift = rifts[w * riftsPerWorker + r]!;
      for (let i = 0; i < per && slots.length < perWorker; i++) slots.push({ riftId: rift.riftId, index: i });
    }
    return slots;
  });
}

const RELEASE_ROUTE = ROUTES.find((r) => r.fn === 'release')!;

export async function measureThroughput(api: HttpClient, t: Tokens, plan: ThroughputPlan, log: (l: string) => void): Promise<ThroughputRow[]> {
  const cfg = loadConfig();
  // The floor's own clients, configured like the handler's (same endpoint, same Stripe options).
  const ddb = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: cfg.region, endpoint: cfg.dynamodbEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  const stripe = new Stripe(cfg.stripe.secretKey!, {
    timeout: cfg.stripe.timeoutMs,
    maxNetworkRetries: cfg.stripe.maxNetworkRetries,
    telemetry: false,
    host: cfg.stripe.host,
    port: cfg.stripe.port,
    protocol: cfg.stripe.protocol ?? 'http',
  });
  const T = cfg.tableName;
  const releaseHandler = (await importHandler('release')) as (e: unknown, c: Context) => Promise<{ statusCode: number }>;

  const viaApi = async (s: { riftId: string; index: number }) => {
    const r = await api.request('POST', `/api/rifts/${s.riftId}/milestones/${s.index}/release`, { token: t.buyer, body: {} });
    return r.status === 200;
  };

  const body = Buffer.from('{}');
  const inProcess = async (s: { riftId: string; index: number }) => {
    const url = `/api/rifts/${s.riftId}/milestones/${s.index}/release`;
    const event = buildEvent(
      { method: 'POST', url, rawHeaders: ['content-type', 'application/json', 'host', '127.0.0.1'], body },
      { route: RELEASE_ROUTE, pathParameters: { riftId: s.riftId, index: String(s.index) } },
      { requestId: randomBytes(12).toString('base64url'), claims: { sub: BUYER } },
    );
    const res = await releaseHandler(event, lambdaContext('release'));
    return res.statusCode === 200;
  };

  const floor = async (s: { riftId: string; index: number }) => {
    const key = { pk: `RIFT#${s.riftId}`, sk: 'RIFT' };
    const got = await ddb.send(new GetCommand({ TableName: T, Key: key, ConsistentRead: true }));
    const rift = got.Item!;
    const amount = MILESTONE_AMOUNT;
    const bal = await stripe.balance.retrieve();
    if ((bal.available.find((b) => b.currency === rift.currency)?.amount ?? 0) < amount) return false;
    const now = new Date().toISOString();
    const relId = `rel_${randomBytes(8).toString('hex')}`;
    const sk = `RELEASE#${s.index}`;
    const stripeKey = `release:${s.riftId}:${s.index}`;
    await ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: T,
              Key: key,
              ConditionExpression: `funded > :zero AND unreserved >= :amount AND disputeOpen = :false AND milestones[${s.index}].#st = :pending`,
              UpdateExpression: `SET unreserved = unreserved - :amount, updatedAt = :at, version = version + :one, milestones[${s.index}].#st = :releasing`,
              ExpressionAttributeNames: { '#st': 'status' },
              ExpressionAttributeValues: { ':zero': 0, ':amount': amount, ':at': now, ':one': 1, ':false': false, ':pending': 'pending', ':releasing': 'releasing' },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Put: {
              TableName: T,
              Item: {
                pk: key.pk, sk, entity: 'release', kind: 'release', id: relId, riftId: s.riftId, amount, currency: rift.currency,
                milestoneIndex: s.index, destination: rift.sellerAccountId, status: 'pending', attempt: 1, stripeKey,
                leaseUntil: Date.now() + 35_000, actor: BUYER, createdAt: now, gsi2pk: 'PENDING', gsi2sk: `${now}#${s.riftId}#${sk}`,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          { Put: { TableName: T, Item: { pk: key.pk, sk: `EVENT#f${relId}a`, kind: 'event', eventId: `evt_f${relId}a`, type: 'release.started', at: now, actor: BUYER, amount, milestoneIndex: s.index } } },
        ],
      }),
    );
    const tr = await stripe.transfers.create(
      { amount, currency: rift.currency, destination: SELLER_ACCOUNT, transfer_group: s.riftId, metadata: { riftId: s.riftId, milestoneIndex: String(s.index), releaseId: relId } },
      { idempotencyKey: stripeKey },
    );
    const at = new Date().toISOString();
    await ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: T,
              Key: { pk: key.pk, sk },
              ConditionExpression: '#s = :pending AND attempt = :attempt',
              UpdateExpression: 'SET #s = :completed, stripeId = :sid, completedAt = :at, leaseUntil = :zero REMOVE gsi2pk, gsi2sk',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':pending': 'pending', ':attempt': 1, ':completed': 'completed', ':sid': tr.id, ':at': at, ':zero': 0 },
            },
          },
          {
            Update: {
              TableName: T,
              Key: key,
              UpdateExpression: `SET held = held - :amount, updatedAt = :at, version = version + :one, released = released + :amount, milestones[${s.index}].#s = :released, milestones[${s.index}].releasedAt = :at, milestones[${s.index}].transferId = :sid`,
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':amount': amount, ':at': at, ':one': 1, ':released': 'released', ':sid': tr.id },
            },
          },
          { Put: { TableName: T, Item: { pk: key.pk, sk: `EVENT#f${relId}b`, kind: 'event', eventId: `evt_f${relId}b`, type: 'release.completed', at, actor: BUYER, amount, stripeId: tr.id, milestoneIndex: s.index } } },
        ],
      }),
    );
    return true;
  };

  const ops: Record<Mode, (s: { riftId: string; index: number }) => Promise<boolean>> = { api: viaApi, 'in-process': inProcess, floor };
  const modes: Mode[] = ['floor', 'api', 'in-process'];

  // Global warm-up (not measured): DynamoDB Local's JVM JIT, connection pools, the handler's cold start.
  for (const mode of modes) {
    const slots = await allocate(api, t, 10, plan.globalWarmupPerWorker);
    await runWorkers(10, plan.globalWarmupPerWorker, (w, i) => ops[mode](slots[w]![i]!));
  }
  log(`  warmed up (${modes.length} × ${10 * plan.globalWarmupPerWorker} releases, not measured)`);

  const rows: ThroughputRow[] = [];
  for (const concurrency of [1, 10, 50]) {
    const perRound = Math.max(1, Math.round((plan.perWorker[concurrency] ?? 10) / plan.rounds));
    // The measured releases are split in rounds, the modes' order rotated each round, so drift on a
    // shared machine (JIT, table growth, neighbours) falls on every mode alike.
    const acc = new Map<Mode, { lat: number[]; errors: number; seconds: number }>(modes.map((m) => [m, { lat: [], errors: 0, seconds: 0 }]));
    for (let round = 0; round < plan.rounds; round++) {
      const order = modes.map((_, i) => modes[(i + round) % modes.length]!);
      for (const mode of order) {
        const slots = await allocate(api, t, concurrency, perRound + plan.warmupPerWorker);
        const op = ops[mode];
        await runWorkers(concurrency, plan.warmupPerWorker, (w, i) => op(slots[w]![i]!));
        const st = await runWorkers(concurrency, perRound, (w, i) => op(slots[w]![plan.warmupPerWorker + i]!));
        const a = acc.get(mode)!;
        a.lat.push(...st.latencies);
        a.errors += st.errors;
        a.seconds += st.seconds;
      }
    }
    for (const mode of modes) {
      const a = acc.get(mode)!;
      const stats = summarize(a.lat, a.errors, a.seconds);
      log(`  ${mode.padEnd(10)} c=${String(concurrency).padEnd(2)} ${stats.perSecond.toFixed(1)}/s p50 ${stats.p50.toFixed(1)} ms p99 ${stats.p99.toFixed(1)} ms (${stats.ops} ok, ${stats.errors} failed)`);
      rows.push({ mode, concurrency, stats });
    }
  }
  ddb.destroy();
  return rows;
}
