/**
 * Events and their signed delivery. Delivery is asynchronous and retried with backoff, so a
 * slow or failing receiver never blocks or breaks the API; close() cancels everything pending.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { newId, nowSeconds } from './ids';
import type { Json } from './store';

export const API_VERSION = '2025-01-27.acacia';
/** Delay before each attempt; 5 attempts over ~12 s. */
const RETRY_DELAYS_MS = [0, 250, 1000, 3000, 8000];
const ATTEMPT_TIMEOUT_MS = 5000;

export interface StripeEvent extends Json {
  id: string;
  type: string;
}

export interface Delivery {
  eventId: string;
  status: 'pending' | 'delivered' | 'failed' | 'no_url';
  attempts: number;
  /** Successful deliveries, more than 1 after a resend. */
  delivered: number;
  lastStatus?: number;
  lastError?: string;
}

/** Stripe's `stripe-signature` header: `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">`. */
export function signPayload(payload: string, secret: string, timestamp = nowSeconds()): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export class Webhooks {
  readonly events = new Map<string, StripeEvent>();
  readonly deliveries = new Map<string, Delivery>();
  private timers = new Set<NodeJS.Timeout>();
  private inflight = new Set<http.ClientRequest>();
  private closed = false;

  constructor(
    public url: string | undefined,
    private readonly secret: string,
  ) {}

  /** Records the event and starts its delivery in the background. */
  emit(type: string, object: Json, request: { id: string | null; idempotency_key: string | null }): StripeEvent {
    const event: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      api_version: API_VERSION,
      created: nowSeconds(),
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: this.url ? 1 : 0,
      request,
      type,
    };
    this.events.set(event.id, event);
    this.deliveries.set(event.id, { eventId: event.id, status: this.url ? 'pending' : 'no_url', attempts: 0, delivered: 0 });
    if (this.url) this.schedule(event, 0);
    return event;
  }

  /** Sends an event again (duplicate delivery); resolves with the first attempt's outcome, retries continue in the background. */
  async resend(eventId: string): Promise<Delivery | undefined> {
    const event = this.events.get(eventId);
    const delivery = this.deliveries.get(eventId);
    if (!event || !delivery) return undefined;
    if (!this.url) return { ...delivery, status: 'no_url' };
    delivery.status = 'pending';
    const ok = await this.attempt(event, delivery);
    if (!ok) this.schedule(event, 1);
    return { ...delivery };
  }

  reset(): void {
    this.cancelAll();
    this.events.clear();
    this.deliveries.clear();
  }

  close(): void {
    this.closed = true;
    this.cancelAll();
  }

  private cancelAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const req of this.inflight) req.destroy();
    this.inflight.clear();
  }

  private schedule(event: StripeEvent, attemptIndex: number): void {
    if (this.closed) return;
    const delay = RETRY_DELAYS_MS[attemptIndex];
    const delivery = this.deliveries.get(event.id);
    if (!delivery) return;
    if (delay === undefined) {
      delivery.status = 'failed';
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(event, delivery).then((ok) => {
        if (!ok) this.schedule(event, attemptIndex + 1);
      });
    }, delay);
    this.timers.add(timer);
  }

  /** One POST; never throws. */
  private attempt(event: StripeEvent, delivery: Delivery): Promise<boolean> {
    const url = this.url;
    if (!url || this.closed) return Promise.resolve(false);
    const payload = JSON.stringify(event, null, 2);
    delivery.attempts++;
    return new Promise((resolve) => {
      let settled = false;
      const done = (ok: boolean, status?: number, error?: string) => {
        if (settled) return;
        settled = true;
        this.inflight.delete(req);
        delivery.lastStatus = status;
        delivery.lastError = error;
        if (ok) {
          delivery.status = 'delivered';
          delivery.delivered++;
        }
        resolve(ok);
      };
      let req: http.ClientRequest;
      try {
        // agent:false: no pooled keep-alive socket that could outlive close().
        req = http.request(url, {
          method: 'POST',
          agent: false,
          timeout: ATTEMPT_TIMEOUT_MS,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'content-length': Buffer.byteLength(payload),
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
            'stripe-signature': signPayload(payload, this.secret),
          },
        });
      } catch (e) {
        resolve(false);
        delivery.lastError = (e as Error).message;
        return;
      }
      this.inflight.add(req);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        // 'close' after a complete body is the normal end; an incomplete one is a failure.
        res.on('close', () => done(res.complete && status >= 200 && status < 300, status, res.complete ? undefined : 'response aborted'));
      });
      req.on('timeout', () => req.destroy(new Error('webhook timeout')));
      req.on('error', (e) => done(false, undefined, e.message));
      req.end(payload);
    });
  }
}
