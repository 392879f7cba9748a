/** Test helpers for the balance tests: fakes for the ports and API Gateway v2 events. */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, ScheduledEvent } from 'aws-lambda';
import type { BalanceEntry } from '../../../functions/adapters/payment-gateway';
import type { MailMessage, Mailer } from '../../../functions/adapters/ses-mailer';
import type { Clock } from '../../../functions/scheduled/balance-service';

export class FakeGateway {
  entries: BalanceEntry[] = [];
  fail: Error | null = null;
  calls = 0;
  set(currency: string, available: number, pending = 0) {
    this.entries = this.entries.filter((e) => e.currency !== currency);
    this.entries.push({ currency, available, pending });
  }
  async getBalance(): Promise<BalanceEntry[]> {
    this.calls++;
    if (this.fail) throw this.fail;
    return this.entries.map((e) => ({ ...e }));
  }
}

export class FakeMailer implements Mailer {
  sent: MailMessage[] = [];
  failNext = 0;
  async send(m: MailMessage) {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('SES is down');
    }
    this.sent.push(m);
    return { messageId: `msg-${this.sent.length}` };
  }
}

export class FakeClock implements Clock {
  constructor(public t = new Date('2024-05-01T12:00:00.000Z')) {}
  now() {
    return new Date(this.t);
  }
  advanceHours(h: number) {
    this.t = new Date(this.t.getTime() + h * 3_600_000);
  }
}

export const randomTableName = (prefix = 'balance-test') => `${prefix}-${randomUUID().slice(0, 8)}`;

export function apiEvent(
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  opts: { body?: unknown; rawBody?: string; sub?: string | null; groups?: string; query?: Record<string, string>; headers?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const routeKey = `${method} ${path}`;
  const sub = opts.sub === undefined ? 'admin_1' : opts.sub;
  const claims = sub === null ? undefined : { sub, 'cognito:groups': opts.groups ?? '[admin]' };
  const body = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(opts.query ?? {}).toString(),
    headers: { 'content-type': 'application/json', ...(opts.headers ?? {}) },
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: `req_${randomUUID().slice(0, 8)}`,
      routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      ...(claims ? { authorizer: { jwt: { claims, scopes: [] } } } : {}),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

export function scheduledEvent(detail: Record<string, unknown> = {}): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  };
}
