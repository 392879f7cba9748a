/**
 * The balance-monitor Lambda handler with aws-sdk-client-mock: SES and DynamoDB error paths.
 * Stripe is replaced by a fake gateway (vi.mock); DynamoDB is DynamoDB Local unless mocked.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../../local/dynamodb';
import { FakeGateway, randomTableName, scheduledEvent } from './helpers';

const fake = vi.hoisted(() => ({ gateway: undefined as unknown as FakeGateway }));
vi.mock('../../../functions/adapters/stripe-gateway', () => ({ createStripeGateway: () => fake.gateway }));

const { handler, metrics } = await import('../../../functions/scheduled/balance-monitor');
const { createSesMailer } = await import('../../../functions/adapters/ses-mailer');

const ses = mockClient(SESv2Client);

beforeEach(async () => {
  const table = randomTableName('balance-handler');
  await ensureTable(process.env.DYNAMODB_ENDPOINT!, table);
  process.env.TABLE_NAME = table;
  process.env.ADMIN_EMAIL = 'admin@rift.test';
  process.env.ALERT_FROM_EMAIL = 'alerts@rift.test';
  process.env.SES_ENDPOINT = 'http://127.0.0.1:1'; // never reached: SES is mocked
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  fake.gateway = new FakeGateway();
  for (const c of ['usd', 'cad', 'eur']) fake.gateway.set(c, 1_000_000);
  ses.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
});

afterEach(() => vi.restoreAllMocks());

describe('ses-mailer', () => {
  it('sends HTML and text, from/to as given', async () => {
    const m = createSesMailer(new SESv2Client({ region: 'us-east-1' }));
    expect(await m.send({ from: 'a@x', to: ['b@x'], subject: 'S', html: '<p>h</p>', text: 't' })).toEqual({ messageId: 'm-1' });
    const input = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(input.FromEmailAddress).toBe('a@x');
    expect(input.Destination?.ToAddresses).toEqual(['b@x']);
    expect(input.Content?.Simple?.Subject?.Data).toBe('S');
    expect(input.Content?.Simple?.Body?.Html?.Data).toBe('<p>h</p>');
    expect(input.Content?.Simple?.Body?.Text?.Data).toBe('t');
  });
});

describe('balance-monitor handler', () => {
  it('low balance: one SendEmail to ADMIN_EMAIL from ALERT_FROM_EMAIL; metrics per currency and alert count', async () => {
    const available = vi.spyOn(metrics, 'available');
    const alertCount = vi.spyOn(metrics, 'alertCount');
    fake.gateway.set('usd', 5_000);
    const r = await handler(scheduledEvent());
    expect(r).toMatchObject({ ok: true, emailed: true });
    const calls = ses.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.Destination?.ToAddresses).toEqual(['admin@rift.test']);
    expect(input.FromEmailAddress).toBe('alerts@rift.test');
    expect(input.Content?.Simple?.Subject?.Data).toBe('[CRITICAL] Stripe balance low: USD');
    expect(available.mock.calls.map((c) => c.slice(0, 2))).toEqual([
      ['cad', 1_000_000],
      ['eur', 1_000_000],
      ['usd', 5_000],
    ]);
    expect(alertCount).toHaveBeenCalledWith(1);
  });

  it('reads thresholds and force from event.detail', async () => {
    fake.gateway.set('usd', 150_000);
    const r = await handler(scheduledEvent({ thresholds: { USD: 2000 } }));
    expect(r.summary?.balances.find((b) => b.currency === 'usd')).toMatchObject({ threshold: 200_000, level: 'info' });
    expect(r.emailed).toBe(false);
    fake.gateway.set('usd', 5_000);
    await handler(scheduledEvent());
    const forced = await handler(scheduledEvent({ force: true }));
    expect(forced.alerts.map((a) => a.reason)).toEqual(['forced']);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
  });

  it('rejects a malformed detail instead of running with other thresholds', async () => {
    await expect(handler(scheduledEvent({ thresholds: { usd: 5 } }))).rejects.toThrow(/invalid balance-monitor event detail/);
    await expect(handler(scheduledEvent({ force: 'yes' }))).rejects.toThrow(/force/);
  });

  it('SES failure: run succeeds, alert recorded unsent; the next run sends it', async () => {
    fake.gateway.set('usd', 5_000);
    ses.on(SendEmailCommand).rejectsOnce(Object.assign(new Error('Throttling'), { name: 'TooManyRequestsException' })).resolves({ MessageId: 'm-2' });
    const r1 = await handler(scheduledEvent());
    expect(r1).toMatchObject({ ok: true, emailed: false, error: { code: 'email_failed' } });
    expect(r1.alerts).toMatchObject([{ currency: 'usd', status: 'unsent', sent: false }]);
    const r2 = await handler(scheduledEvent());
    expect(r2).toMatchObject({ ok: true, emailed: true });
    expect(r2.alerts).toMatchObject([{ currency: 'usd', status: 'sent', messageId: 'm-2' }]);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
  });

  it('DynamoDB failure: the handler fails (Lambda error, DLQ) and sends no mail', async () => {
    fake.gateway.set('usd', 5_000);
    const ddb = mockClient(DynamoDBDocumentClient);
    try {
      ddb.on(GetCommand).rejects(Object.assign(new Error('ProvisionedThroughputExceeded'), { name: 'ProvisionedThroughputExceededException' }));
      await expect(handler(scheduledEvent())).rejects.toThrow(/ProvisionedThroughputExceeded/);
      expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    } finally {
      ddb.restore();
    }
  });

  it('DynamoDB failure while recording the alert: no mail is sent for an alert that was never recorded', async () => {
    fake.gateway.set('usd', 5_000);
    const ddb = mockClient(DynamoDBDocumentClient);
    try {
      ddb.on(GetCommand).resolves({});
      ddb.on(QueryCommand).resolves({ Items: [] });
      ddb.on(UpdateCommand).resolves({ Attributes: {} });
      ddb.on(PutCommand).callsFake((input: { Item?: { sk?: string } }) => {
        if (String(input.Item?.sk).startsWith('ALERT#')) throw Object.assign(new Error('InternalServerError'), { name: 'InternalServerError' });
        return {};
      });
      await expect(handler(scheduledEvent())).rejects.toThrow(/InternalServerError/);
      expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    } finally {
      ddb.restore();
    }
  });

  it('Stripe unreadable: ok false and payment_provider_error; the second failure in a row mails "balance check failing"', async () => {
    fake.gateway.fail = new Error('Stripe timed out');
    const r1 = await handler(scheduledEvent());
    expect(r1).toMatchObject({ ok: false, emailed: false, consecutiveFailures: 1, error: { code: 'payment_provider_error' } });
    const r2 = await handler(scheduledEvent());
    expect(r2).toMatchObject({ ok: false, emailed: true, consecutiveFailures: 2 });
    expect(ses.commandCalls(SendEmailCommand)[0]!.args[0].input.Content?.Simple?.Subject?.Data).toMatch(/balance check failing/);
  });
});
