/**
 * startLocalStack in-process (the way integration tests can use it): free ports, the DynamoDB
 * Local of the vitest global setup, no schedule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { clearMail, readMail } from '../../../local/ses';
import { mintToken } from '../../../local/jwt';
import { assertPortFree } from '../../../local/ports';

const tableName = `rift-stack-${Date.now()}`;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, stripePort: 0, sesPort: 0, dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT, tableName, schedule: false, quiet: true });
});
afterAll(async () => {
  await stack?.stop();
});

describe('startLocalStack (in-process)', () => {
  it('sets the handlers environment and answers health', async () => {
    expect(process.env.TABLE_NAME).toBe(tableName);
    expect(process.env.DYNAMODB_ENDPOINT).toBe(stack.dynamodbEndpoint);
    expect(process.env.STRIPE_SECRET_KEY).toBe('sk_test_local');
    expect(process.env.STRIPE_API_HOST).toBe('127.0.0.1');
    expect(process.env.STRIPE_API_PORT).toBe(new URL(stack.stripeUrl).port);
    expect(process.env.STRIPE_API_PROTOCOL).toBe('http');
    expect(process.env.STRIPE_WEBHOOK_SECRET).toBeTruthy();
    expect(process.env.SES_ENDPOINT).toBe(stack.sesUrl);
    expect(process.env.LOCAL_INVOKE_URL).toBe(stack.apiUrl);
    expect(process.env.ADMIN_EMAIL).toBeTruthy();
    expect(await stack.health()).toEqual({ down: [] });
    const res = await fetch(`${stack.apiUrl}/api/health`);
    expect(res.status).toBe(200);
  });

  it('routes an authenticated request to the real handler module', async () => {
    const t = await mintToken({ sub: 'user_b' });
    const res = await fetch(`${stack.apiUrl}/api/rifts`, { headers: { authorization: `Bearer ${t}` } });
    const body = (await res.json()) as { rifts?: unknown[]; error?: { requestId: string } };
    if (res.status === 200) expect(Array.isArray(body.rifts)).toBe(true);
    else expect(res.headers.get('x-request-id')).toBe(body.error!.requestId);
  });

  it('reads SES mail back (readMail / clearMail)', async () => {
    await clearMail(stack.sesUrl);
    const ses = new SESv2Client({ endpoint: process.env.SES_ENDPOINT, region: 'us-east-1' });
    await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'alerts@rift.local',
        Destination: { ToAddresses: ['admin@rift.local'] },
        Content: { Simple: { Subject: { Data: 'hi' }, Body: { Text: { Data: 'body' } } } },
      }),
    );
    ses.destroy();
    const mail = await readMail(stack.sesUrl);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.subject).toBe('hi');
  });

  it('a start that fails part-way rejects with a one-line error and leaves the running stack alone', async () => {
    const other = await startLocalStack({ port: 0, stripePort: 0, sesPort: 0, dynamodbEndpoint: 'http://127.0.0.1:1', tableName: 'x', schedule: false, quiet: true }).catch((e: Error) => e);
    // the table cannot be created: a start failure, with everything started so far stopped
    expect(other).toBeInstanceOf(Error);
    expect((other as Error).message).toMatch(/^cannot create table x: /);
    expect((other as Error).message).not.toContain('\n');
    // the failed start did not get as far as the environment
    expect(process.env.TABLE_NAME).toBe(tableName);
  });

  it('fails with a one-line error naming the variable when a port is in use, leaving nothing bound', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startLocalStack({ port: 0, stripePort: 0, sesPort: busy, dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT, schedule: false, quiet: true })).rejects.toThrow(
        `port ${busy} is in use: set SES_PORT to another port`,
      );
    } finally {
      blocker.close();
    }
  });

  it('stop() is idempotent and frees the ports', async () => {
    const s = await startLocalStack({ port: 0, stripePort: 0, sesPort: 0, dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT, tableName, schedule: true, quiet: true });
    const ports = [s.apiUrl, s.stripeUrl, s.sesUrl].map((u) => Number(new URL(u).port));
    await Promise.all([s.stop(), s.stop()]);
    await s.stop();
    for (const p of ports) await assertPortFree(p, 'X');
    // the first stack's env is now the second's; point it back for any later test
    Object.assign(process.env, { SES_ENDPOINT: stack.sesUrl, LOCAL_INVOKE_URL: stack.apiUrl, STRIPE_API_PORT: new URL(stack.stripeUrl).port });
  });
});
