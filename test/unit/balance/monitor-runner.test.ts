import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mockClient } from 'aws-sdk-client-mock';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  createHttpMonitorRunner,
  createLambdaMonitorRunner,
  createMonitorRunner,
  MonitorInvokeError,
} from '../../../functions/adapters/monitor-runner';

const result = { ok: true, runId: 'r1', summary: { checkedAt: 'x', balances: [] }, alerts: [], emailed: false };
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('Lambda monitor runner', () => {
  const lambda = mockClient(LambdaClient);
  afterEach(() => lambda.reset());

  it('invokes the function RequestResponse with { thresholds, force } as the event detail', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: enc(result) as never });
    const r = await createLambdaMonitorRunner(new LambdaClient({ region: 'us-east-1' }), 'rift-dev-balance-monitor').run({ thresholds: { USD: 5 }, force: true });
    expect(r).toEqual(result);
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input.FunctionName).toBe('rift-dev-balance-monitor');
    expect(input.InvocationType).toBe('RequestResponse');
    const event = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array));
    expect(event.detail).toEqual({ thresholds: { USD: 5 }, force: true });
  });

  it('a function error becomes a MonitorInvokeError with its message', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: enc({ errorMessage: 'table gone' }) as never });
    const run = createLambdaMonitorRunner(new LambdaClient({ region: 'us-east-1' }), 'f').run({});
    await expect(run).rejects.toThrow(MonitorInvokeError);
    await expect(run).rejects.toThrow(/table gone/);
  });

  it('an unexpected payload is an error', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: enc({ status: 'not_implemented' }) as never });
    await expect(createLambdaMonitorRunner(new LambdaClient({ region: 'us-east-1' }), 'f').run({})).rejects.toThrow(/unexpected payload/);
  });
});

describe('local HTTP monitor runner', () => {
  let server: http.Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  async function serve(status: number, body: unknown) {
    const seen: { url?: string; body?: string } = {};
    server = http.createServer((req, res) => {
      let b = '';
      req.on('data', (d) => (b += d));
      req.on('end', () => {
        seen.url = `${req.method} ${req.url}`;
        seen.body = b;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  it('POSTs { thresholds, force } to /_local/invoke/balance-monitor', async () => {
    const { url, seen } = await serve(200, result);
    expect(await createHttpMonitorRunner(`${url}/`).run({ force: true })).toEqual(result);
    expect(seen.url).toBe('POST /_local/invoke/balance-monitor');
    expect(JSON.parse(seen.body!)).toEqual({ force: true });
  });

  it('a failed invoke is an error', async () => {
    const { url } = await serve(500, { error: { code: 'internal_error' } });
    await expect(createHttpMonitorRunner(url).run({})).rejects.toThrow(/500/);
  });

  it('createMonitorRunner: local URL first, then the function name, else a clear error', () => {
    expect(() => createMonitorRunner({ region: 'us-east-1' })).toThrow(/BALANCE_MONITOR_FUNCTION_NAME/);
    expect(createMonitorRunner({ region: 'us-east-1', localInvokeUrl: 'http://x' })).toBeDefined();
    expect(createMonitorRunner({ region: 'us-east-1', balanceMonitorFunctionName: 'f' })).toBeDefined();
  });
});
