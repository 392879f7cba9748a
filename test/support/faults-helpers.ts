/**
 * Helpers for the fault matrix, the reconciler tests and the simulation: one in-process local
 * stack (real handlers, DynamoDB Local, Stripe emulator), an HTTP client, emulator controls,
 * direct reads of the store, and the ledger check (DynamoDB against the emulator's objects).
 */
import './quiet-env';
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { localDynamoClient } from '../../local/dynamodb';
import { mintToken } from '../../local/jwt';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { createRiftStore } from '../../functions/adapters/rift-store';
import type { AuditEvent, MoneyIntent, RiftStore } from '../../functions/core/ports';
import { invariantViolations, type RiftRecord } from '../../functions/core/rift';

export const BUYER = 'user_buyer';
export const SELLER = 'user_seller';
export const ADMIN = 'user_admin';
export const SELLER_ACCOUNT = 'acct_seller1';

export interface HttpAnswer {
  status: number;
  body: any;
  headers: Headers;
}

export type Who = 'buyer' | 'seller' | 'admin';

export interface StripeState {
  balances: Record<string, { available: number; pending: number }>;
  paymentIntents: { id: string; amount: number; currency: string; status: string; metadata?: Record<string, string>; transfer_group?: string }[];
  transfers: { id: string; amount: number; currency: string; transfer_group?: string; destination: string; metadata?: Record<string, string> }[];
  refunds: { id: string; amount: number; payment_intent: string; status: string; metadata?: Record<string, string> }[];
  events: { id: string; type: string; data: { object: any } }[];
  webhookDeliveries: { eventId: string; status: string; attempts: number; delivered: number }[];
  faults: unknown[];
}

export type Fault = 'error_500' | 'timeout' | 'commit_then_error_500' | 'commit_then_timeout' | 'delay';

export interface TestStack {
  stack: LocalStack;
  store: RiftStore;
  doc: DynamoDBDocumentClient;
  tableName: string;
  tokens: Record<Who, string>;
  call(method: string, path: string, opts?: { as?: Who; body?: unknown; key?: string }): Promise<HttpAnswer>;
  createRift(amounts: number[], currency?: string): Promise<RiftRecord>;
  fund(riftId: string, key?: string): Promise<HttpAnswer>;
  fault(method: string, path: string, fault: Fault, times: number, delayMs?: number): Promise<void>;
  clearFaults(): Promise<void>;
  emulator(method: string, path: string, body?: unknown): Promise<any>;
  stripeState(): Promise<StripeState>;
  reconcile(): Promise<ReconcileAnswer>;
  events(riftId: string): Promise<AuditEvent[]>;
  intents(riftId: string): Promise<MoneyIntent[]>;
  /**
   * Time passing (a function's timeout): every pending intent of the rift loses its lease, and any
   * Stripe request sent for it has landed or never will (`settleAfter` is past).
   */
  expireLeases(riftId: string): Promise<void>;
  /** Waits until the emulator has delivered every webhook it emitted (or gave up on it). */
  settleWebhooks(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ReconcileAnswer {
  examined: number;
  completed: number;
  voided: number;
  stillPending: number;
  skippedInFlight: number;
  items: { kind: string; id: string; riftId: string; outcome: string }[];
}

/**
 * Starts the in-process stack. Must run before anything imports a handler (the handlers read env
 * on first use). STRIPE_TIMEOUT_MS is small so `timeout` faults surface quickly.
 */
export async function startTestStack(opts: { stripeTimeoutMs?: number; dynamodbEndpoint?: string } = {}): Promise<TestStack> {
  process.env.STRIPE_TIMEOUT_MS = String(opts.stripeTimeoutMs ?? 1000);
  process.env.STRIPE_MAX_NETWORK_RETRIES ??= '1';
  const tableName = `rift-${randomBytes(5).toString('hex')}`;
  const stack = await startLocalStack({
    port: 0,
    stripePort: 0,
    sesPort: 0,
    dynamodbEndpoint: opts.dynamodbEndpoint ?? process.env.DYNAMODB_ENDPOINT,
    tableName,
    schedule: false,
    quiet: true,
  });
  const doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamodbEndpoint), { marshallOptions: { removeUndefinedValues: true } });
  const store = createRiftStore(doc, tableName);
  const tokens: Record<Who, string> = {
    buyer: await mintToken({ sub: BUYER, ttlSeconds: 6 * 3600 }),
    seller: await mintToken({ sub: SELLER, ttlSeconds: 6 * 3600 }),
    admin: await mintToken({ sub: ADMIN, groups: ['admin'], ttlSeconds: 6 * 3600 }),
  };

  const call: TestStack['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${tokens[o.as ?? 'buyer']}` };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (o.key) headers['idempotency-key'] = o.key;
    const res = await fetch(`${stack.apiUrl}${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, headers: res.headers };
  };

  const emulator: TestStack['emulator'] = async (method, path, body) => {
    const res = await fetch(`${stack.stripeUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`emulator ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  const stripeState = () => emulator('GET', '/_emulator/state') as Promise<StripeState>;

  const t: TestStack = {
    stack,
    store,
    doc,
    tableName,
    tokens,
    call,
    async createRift(amounts, currency = 'usd') {
      const r = await call('POST', '/api/rifts', {
        body: { title: 'Test rift', sellerId: SELLER, sellerAccountId: SELLER_ACCOUNT, currency, milestones: amounts.map((amount, i) => ({ title: `M${i}`, amount })) },
      });
      if (r.status !== 201) throw new Error(`create rift: ${r.status} ${JSON.stringify(r.body)}`);
      return (await store.getRift(r.body.riftId))!;
    },
    fund: (riftId, key) => call('POST', `/api/rifts/${riftId}/fund`, { body: { paymentMethodId: 'pm_card_visa' }, ...(key ? { key } : {}) }),
    async fault(method, path, fault, times, delayMs) {
      await emulator('POST', '/_emulator/faults', { method, path, fault, times, ...(delayMs !== undefined ? { delayMs } : {}) });
    },
    async clearFaults() {
      await emulator('DELETE', '/_emulator/faults');
    },
    emulator,
    stripeState,
    reconcile: () => stack.invoke('reconciler') as Promise<ReconcileAnswer>,
    events: (riftId) => store.listEvents(riftId),
    async intents(riftId) {
      const out = await doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b',
          ExpressionAttributeValues: { ':pk': `RIFT#${riftId}`, ':a': 'REFUND#', ':b': 'RELEASE#\uffff' },
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []) as MoneyIntent[];
    },
    async expireLeases(riftId) {
      for (const i of await t.intents(riftId)) {
        if (i.status !== 'pending' || (i.leaseUntil === 0 && !((i.settleAfter ?? 0) > 1))) continue;
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: `RIFT#${riftId}`, sk: (i as any).sk },
            ConditionExpression: '#s = :p',
            UpdateExpression: i.leaseUntil === 0 ? 'SET settleAfter = :past' : 'SET leaseUntil = :past, settleAfter = :past',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':p': 'pending', ':past': 1 },
          }),
        ).catch(() => undefined);
      }
    },
    async settleWebhooks(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await stripeState();
        if (s.webhookDeliveries.every((d) => d.status !== 'pending')) return;
        if (Date.now() > deadline) throw new Error(`webhooks still pending: ${JSON.stringify(s.webhookDeliveries.filter((d) => d.status === 'pending'))}`);
        await sleep(50);
      }
    },
    async stop() {
      doc.destroy();
      await stack.stop();
    },
  };
  return t;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The ledger of one rift, DynamoDB against the emulator; returns the problems (empty = consistent). */
export function ledgerProblems(
  rift: RiftRecord,
  intents: MoneyIntent[],
  stripe: StripeState,
  opts: { allowPending?: boolean } = {},
): string[] {
  const p = invariantViolations(rift).map((v) => `invariant: ${v}`);
  const transfers = stripe.transfers.filter((t) => t.transfer_group === rift.riftId);
  const refunds = rift.paymentIntentId ? stripe.refunds.filter((r) => r.payment_intent === rift.paymentIntentId) : [];
  const pis = stripe.paymentIntents.filter((pi) => pi.metadata?.riftId === rift.riftId && pi.status === 'succeeded');
  if (rift.funded > 0 && pis.length !== 1) p.push(`funded but ${pis.length} succeeded PaymentIntents`);
  if (rift.funded === 0 && pis.length !== 0 && !opts.allowPending) p.push(`not funded but ${pis.length} succeeded PaymentIntents`);
  if (rift.funded > 0 && pis[0] && pis[0].id !== rift.paymentIntentId) p.push(`paymentIntentId ${rift.paymentIntentId} != Stripe's ${pis[0].id}`);
  // Per milestone at most one transfer; every released milestone has exactly its transfer.
  for (const m of rift.milestones) {
    const ts = transfers.filter((t) => t.metadata?.milestoneIndex === String(m.index));
    if (ts.length > 1) p.push(`milestone ${m.index}: ${ts.length} transfers`);
    if (m.status === 'released') {
      if (ts.length !== 1) p.push(`milestone ${m.index} released with ${ts.length} transfers`);
      else if (ts[0]!.id !== m.transferId) p.push(`milestone ${m.index} transferId ${m.transferId} != ${ts[0]!.id}`);
      else if (ts[0]!.amount !== m.amount) p.push(`milestone ${m.index} transfer amount ${ts[0]!.amount} != ${m.amount}`);
    } else if (ts.length === 1 && !(opts.allowPending && m.status === 'releasing')) {
      p.push(`milestone ${m.index} is ${m.status} but Stripe has transfer ${ts[0]!.id}`);
    }
  }
  const pending = intents.filter((i) => i.status === 'pending');
  if (!opts.allowPending) {
    const sumT = transfers.reduce((s, t) => s + t.amount, 0);
    if (sumT !== rift.released) p.push(`transfers sum ${sumT} != released ${rift.released}`);
    const sumR = refunds.reduce((s, r) => s + r.amount, 0);
    if (sumR !== rift.refunded) p.push(`refunds sum ${sumR} != refunded ${rift.refunded}`);
    if (pending.length) p.push(`${pending.length} intents still pending`);
    if (rift.unreserved !== rift.held) p.push(`unreserved ${rift.unreserved} != held ${rift.held} with nothing pending`);
  }
  // One Stripe refund per refund intent, and each completed refund intent has its refund.
  for (const i of intents.filter((x) => x.kind === 'refund')) {
    const rs = refunds.filter((r) => r.metadata?.refundId === i.id);
    if (rs.length > 1) p.push(`refund ${i.id}: ${rs.length} Stripe refunds`);
    if (i.status === 'completed' && (rs.length !== 1 || rs[0]!.id !== i.stripeId || rs[0]!.amount !== i.amount)) p.push(`refund ${i.id} completed without its Stripe refund`);
    if (i.status === 'failed' && rs.length > 0) p.push(`refund ${i.id} voided but Stripe has ${rs[0]!.id}`);
  }
  for (const r of refunds) {
    if (!intents.some((i) => i.kind === 'refund' && i.id === r.metadata?.refundId)) p.push(`Stripe refund ${r.id} has no intent`);
  }
  for (const i of intents.filter((x) => x.kind === 'release')) {
    if (i.status === 'failed' && transfers.some((t) => t.metadata?.releaseId === i.id && t.metadata?.milestoneIndex === String(i.milestoneIndex) && rift.milestones[i.milestoneIndex!]?.status !== 'released')) {
      p.push(`release ${i.id} voided but Stripe has its transfer`);
    }
  }
  return p;
}

/** Checks the audit trail tells the story of the intents: one `.started` each, then `.completed` or `.failed`. */
export function auditProblems(events: AuditEvent[], intents: MoneyIntent[], rift: RiftRecord): string[] {
  const p: string[] = [];
  const funded = events.filter((e) => e.type === 'rift.funded');
  if (rift.funded > 0 ? funded.length !== 1 : funded.length !== 0) p.push(`${funded.length} rift.funded events`);
  for (const kind of ['release', 'refund'] as const) {
    const started = events.filter((e) => e.type === `${kind}.started`).length;
    const completed = events.filter((e) => e.type === `${kind}.completed`).length;
    const failed = events.filter((e) => e.type === `${kind}.failed`).length;
    const mine = intents.filter((i) => i.kind === kind);
    const done = mine.filter((i) => i.status === 'completed').length;
    const pending = mine.filter((i) => i.status === 'pending').length;
    const attempts = mine.reduce((s, i) => s + i.attempt, 0);
    if (started !== attempts) p.push(`${kind}: ${started} .started for ${attempts} reserved attempts`);
    if (completed !== done) p.push(`${kind}: ${completed} .completed for ${done} completed intents`);
    if (started !== completed + failed + pending) p.push(`${kind}: ${started} started != ${completed} completed + ${failed} failed + ${pending} pending`);
  }
  const sumReleased = events.filter((e) => e.type === 'release.completed').reduce((s, e) => s + (e.amount ?? 0), 0);
  const sumRefunded = events.filter((e) => e.type === 'refund.completed').reduce((s, e) => s + (e.amount ?? 0), 0);
  if (sumReleased !== rift.released) p.push(`release.completed amounts ${sumReleased} != released ${rift.released}`);
  if (sumRefunded !== rift.refunded) p.push(`refund.completed amounts ${sumRefunded} != refunded ${rift.refunded}`);
  return p;
}

/** Everything about one rift, read directly (consistent reads). */
export async function snapshotRift(t: TestStack, riftId: string, stripe?: StripeState) {
  const [rift, intents, events, s] = await Promise.all([t.store.getRift(riftId), t.intents(riftId), t.events(riftId), stripe ?? t.stripeState()]);
  return { rift: rift!, intents, events, stripe: s };
}
