/**
 * A small HTTP client for the local API (one `startLocalStack` per test file), with tokens per
 * user, JSON requests, helpers for the common escrow steps, the Stripe emulator's controls, and
 * `assertLedger(riftId)`: the money invariant checked against both the rift and the emulator.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { mintToken } from '../../local/jwt';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
  requestId: string | null;
}

export interface RequestOptions {
  /** The caller (`sub`); `null` sends no token. Default: an admin named `admin`. */
  as?: User | null;
  /** A JSON value (serialized), or a raw string sent as is. */
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  idempotencyKey?: string;
}

export interface User {
  sub: string;
  admin?: boolean;
}

export const uid = (prefix = 'user') => `${prefix}_${randomBytes(5).toString('hex')}`;

/** A buyer, a seller and an admin of their own (unique ids: lists never see other tests' rifts). */
export function party() {
  return { buyer: { sub: uid('buyer') }, seller: { sub: uid('seller') }, admin: { sub: uid('admin'), admin: true }, stranger: { sub: uid('stranger') } };
}

export interface MilestoneInput {
  title: string;
  amount: number;
}

export interface EmulatorState {
  balances: Record<string, { available: number; pending: number }>;
  paymentIntents: { id: string; amount: number; status: string; transfer_group: string | null; metadata: Record<string, string> }[];
  transfers: { id: string; amount: number; currency: string; destination: string; transfer_group: string | null; metadata: Record<string, string> }[];
  refunds: { id: string; amount: number; payment_intent: string; metadata: Record<string, string> }[];
  disputes: { id: string; payment_intent: string }[];
  events: { id: string; type: string; data: { object: { id: string } } }[];
  webhookDeliveries: { eventId: string; status: string; attempts: number; delivered: number; lastStatus?: number }[];
}

export class Api {
  private tokens = new Map<string, Promise<string>>();
  readonly systemAdmin: User = { sub: 'admin_system', admin: true };

  constructor(readonly stack: LocalStack) {}

  get apiUrl() {
    return this.stack.apiUrl;
  }
  get stripeUrl() {
    return this.stack.stripeUrl;
  }

  token(user: User): Promise<string> {
    const k = `${user.sub}|${user.admin ? 'admin' : ''}`;
    let t = this.tokens.get(k);
    if (!t) {
      t = mintToken({ sub: user.sub, ...(user.admin ? { groups: ['admin'] } : {}), ttlSeconds: 3600 });
      this.tokens.set(k, t);
    }
    return t;
  }

  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const as = opts.as === undefined ? this.systemAdmin : opts.as;
    if (as) headers.authorization = `Bearer ${await this.token(as)}`;
    if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.apiUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as T, text, headers: res.headers, requestId: res.headers.get('x-request-id') };
  }

  get = <T = any>(as: User | null, path: string) => this.request<T>('GET', path, { as });
  post = <T = any>(as: User | null, path: string, body?: unknown, extra: Omit<RequestOptions, 'as' | 'body'> = {}) =>
    this.request<T>('POST', path, { as, body, ...extra });

  // ---- escrow steps ----------------------------------------------------------------------------

  async createRift(buyer: User, seller: User, milestones: MilestoneInput[] = [{ title: 'Design', amount: 10_000 }, { title: 'Build', amount: 20_000 }], extra: Record<string, unknown> = {}) {
    const res = await this.post(buyer, '/api/rifts', {
      title: 'Website redesign',
      sellerId: seller.sub,
      sellerAccountId: 'acct_seller1',
      currency: 'usd',
      milestones,
      ...extra,
    });
    expect(res.status, res.text).toBe(201);
    return res.body as Rift;
  }

  async fund(buyer: User, riftId: string, paymentMethodId = 'pm_card_visa') {
    return this.post(buyer, `/api/rifts/${riftId}/fund`, { paymentMethodId });
  }

  /** Creates and funds a rift; returns the funded view. */
  async fundedRift(buyer: User, seller: User, milestones?: MilestoneInput[]) {
    const rift = await this.createRift(buyer, seller, milestones);
    const res = await this.fund(buyer, rift.riftId);
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe('funded');
    return res.body as Rift;
  }

  release(as: User | null, riftId: string, index: number | string, extra: Omit<RequestOptions, 'as' | 'body'> & { body?: unknown } = {}) {
    const { body, ...rest } = extra;
    return this.post(as, `/api/rifts/${riftId}/milestones/${index}/release`, body, rest);
  }

  refund(as: User | null, riftId: string, body: { amount?: number; reason?: string } = {}, key: string | null = uid('key')) {
    return this.post(as, `/api/rifts/${riftId}/refunds`, body, key === null ? {} : { idempotencyKey: key });
  }

  openDispute(as: User | null, riftId: string, reason = 'the work is not what was agreed') {
    return this.post(as, `/api/rifts/${riftId}/disputes`, { reason });
  }

  resolve(as: User | null, riftId: string, outcome: 'dismiss' | 'refund_buyer' | 'release_seller') {
    return this.post(as, `/api/rifts/${riftId}/disputes/resolve`, { outcome });
  }

  async rift(riftId: string): Promise<Rift> {
    const res = await this.get(this.systemAdmin, `/api/rifts/${riftId}`);
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  async events(riftId: string): Promise<AuditEvent[]> {
    const res = await this.get(this.systemAdmin, `/api/rifts/${riftId}/events`);
    expect(res.status, res.text).toBe(200);
    return res.body.events;
  }

  /** The rift and its events, for "nothing changed" checks. */
  async snapshot(riftId: string) {
    const [rift, events] = await Promise.all([this.rift(riftId), this.events(riftId)]);
    return { rift, events };
  }

  /** Polls the events until `pred` holds (webhooks are asynchronous). */
  async waitForEvents(riftId: string, pred: (events: AuditEvent[]) => boolean, timeoutMs = 10_000): Promise<AuditEvent[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const events = await this.events(riftId);
      if (pred(events)) return events;
      if (Date.now() > until) throw new Error(`events of ${riftId} never matched: ${events.map((e) => e.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // ---- the Stripe emulator ---------------------------------------------------------------------

  private async control(method: string, path: string, body?: unknown) {
    const res = await fetch(`${this.stripeUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = await res.json();
    expect(res.status, JSON.stringify(json)).toBe(200);
    return json;
  }

  emulatorState = (): Promise<EmulatorState> => this.control('GET', '/_emulator/state');
  setBalance = (currency: string, available: number) => this.control('POST', '/_emulator/balance', { currency, available });
  fault = (f: { method?: string; path: string; fault: string; times?: number; delayMs?: number }) => this.control('POST', '/_emulator/faults', f);
  clearFaults = () => this.control('DELETE', '/_emulator/faults');
  faults = async (): Promise<unknown[]> => (await this.control('GET', '/_emulator/faults')).faults;
  chargeback = (paymentIntentId: string, body: Record<string, unknown> = {}) => this.control('POST', `/_emulator/payment_intents/${paymentIntentId}/dispute`, body);

  /** Waits until the emulator has delivered (2xx) its webhook `type` about `objectId`; returns the event id. */
  async waitForWebhook(type: string, objectId: string, timeoutMs = 10_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.emulatorState();
      const ev = state.events.find((e) => e.type === type && e.data?.object?.id === objectId);
      const d = ev && state.webhookDeliveries.find((x) => x.eventId === ev.id);
      if (ev && d?.status === 'delivered') return ev.id;
      if (Date.now() > until) throw new Error(`webhook ${type} for ${objectId} not delivered: ${JSON.stringify(d ?? null)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  resendWebhook = (eventId: string) => this.control('POST', '/_emulator/webhooks/resend', { eventId });

  /**
   * The money invariant, on the rift and at Stripe:
   * `funded = released + refunded + held`, `held >= 0`, released milestones sum to `released`, at most
   * one transfer per milestone (exactly one for a released one, the milestone's transferId), and the
   * emulator's transfers (transfer_group = riftId) and refunds (payment_intent) sum to the rift's
   * `released` and `refunded`.
   */
  async assertLedger(riftId: string): Promise<Rift> {
    const [rift, state] = await Promise.all([this.rift(riftId), this.emulatorState()]);
    const a = rift.amounts;
    expect(a.funded, 'funded = released + refunded + held').toBe(a.released + a.refunded + a.held);
    expect(a.held, 'held >= 0').toBeGreaterThanOrEqual(0);
    expect([0, a.total], 'funded is 0 or the total').toContain(a.funded);
    expect(rift.milestones.reduce((s, m) => s + m.amount, 0), 'milestones sum to the total').toBe(a.total);
    const releasedSum = rift.milestones.filter((m) => m.status === 'released').reduce((s, m) => s + m.amount, 0);
    expect(releasedSum, 'released milestones sum to released').toBe(a.released);

    const transfers = state.transfers.filter((t) => t.transfer_group === riftId);
    const perMilestone = new Map<string, typeof transfers>();
    for (const t of transfers) {
      const k = t.metadata?.milestoneIndex ?? '?';
      perMilestone.set(k, [...(perMilestone.get(k) ?? []), t]);
    }
    for (const [k, list] of perMilestone) expect(list.length, `transfers for milestone ${k} of ${riftId}`).toBe(1);
    for (const m of rift.milestones) {
      const list = perMilestone.get(String(m.index)) ?? [];
      if (m.status === 'released') {
        expect(list.map((t) => t.id), `the transfer of released milestone ${m.index}`).toEqual([m.transferId]);
        expect(list[0]!.amount).toBe(m.amount);
        expect(list[0]!.destination).toBe(rift.sellerAccountId);
      }
      if (m.status === 'pending') expect(list, `no transfer for pending milestone ${m.index}`).toEqual([]);
    }
    expect(transfers.reduce((s, t) => s + t.amount, 0), 'Stripe transfers sum to released').toBe(a.released);

    const refunds = rift.paymentIntentId ? state.refunds.filter((r) => r.payment_intent === rift.paymentIntentId) : [];
    expect(refunds.reduce((s, r) => s + r.amount, 0), 'Stripe refunds sum to refunded').toBe(a.refunded);
    if (rift.paymentIntentId) {
      const pi = state.paymentIntents.find((p) => p.id === rift.paymentIntentId);
      expect(pi?.status).toBe('succeeded');
      expect(pi?.amount).toBe(a.funded);
      expect(pi?.transfer_group).toBe(riftId);
    }
    // The succeeded PaymentIntents of this rift: exactly one once funded, none before.
    const succeeded = state.paymentIntents.filter((p) => p.metadata?.riftId === riftId && p.status === 'succeeded');
    expect(succeeded.length, 'succeeded PaymentIntents for the rift').toBe(a.funded > 0 ? 1 : 0);
    return rift;
  }
}

export interface Milestone {
  index: number;
  title: string;
  amount: number;
  status: 'pending' | 'releasing' | 'released';
  releasedAt?: string;
  transferId?: string;
}

export interface Rift {
  riftId: string;
  title: string;
  buyerId: string;
  sellerId: string;
  sellerAccountId: string;
  currency: string;
  status: 'awaiting_funding' | 'funded' | 'disputed' | 'completed' | 'refunded' | 'closed';
  amounts: { total: number; funded: number; released: number; refunded: number; held: number };
  milestones: Milestone[];
  paymentIntentId: string | null;
  dispute: null | { disputeId: string; status: 'open' | 'resolved'; reason: string; openedBy: string; source: 'party' | 'chargeback'; openedAt: string; outcome?: string; resolvedAt?: string };
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface AuditEvent {
  eventId: string;
  type: string;
  at: string;
  actor: string;
  amount?: number;
  milestoneIndex?: number;
  stripeId?: string;
  details?: Record<string, unknown>;
}

/** The contract's error shape, with `x-request-id` equal to `error.requestId`. */
export function expectError(res: ApiResponse, status: number, code: string) {
  expect({ status: res.status, code: res.body?.error?.code }, res.text).toEqual({ status, code });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(0);
  expect(typeof res.body.error.requestId).toBe('string');
  expect(res.body.error.requestId.length).toBeGreaterThan(0);
  expect(res.requestId).toBe(res.body.error.requestId);
  const extra = Object.keys(res.body.error).filter((k) => !['code', 'message', 'details', 'requestId'].includes(k));
  expect(extra).toEqual([]);
  expect(Object.keys(res.body)).toEqual(['error']);
  return res.body.error as { code: string; message: string; details?: any; requestId: string };
}

/** One local stack for this test file (it sets process.env: one per process). */
export async function startApi(): Promise<Api> {
  process.env.LOG_LEVEL ??= 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const stack = await startLocalStack({
    port: 0,
    stripePort: 0,
    sesPort: 0,
    dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT,
    tableName: `rift-${randomBytes(6).toString('hex')}`,
    schedule: false,
    quiet: true,
  });
  return new Api(stack);
}
