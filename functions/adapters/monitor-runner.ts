/**
 * Runs the balance monitor on demand for `POST /api/admin/stripe-balance`.
 *
 * The admin-balance function may not send mail (only balance-monitor holds `ses:SendEmail`), so it
 * runs the monitor *in the balance-monitor function*:
 * - in AWS: Lambda `Invoke` (RequestResponse) of `BALANCE_MONITOR_FUNCTION_NAME` with an
 *   EventBridge-shaped event whose `detail` is `{ thresholds?, force? }`;
 * - locally (`LOCAL_INVOKE_URL` set): `POST ${LOCAL_INVOKE_URL}/_local/invoke/balance-monitor`
 *   with the JSON body `{ thresholds?, force? }`, which the local stack merges into `detail`.
 * Tests inject an in-process runner.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Config } from './config';
import type { Thresholds } from '../core/balance';
import type { MonitorRunResult } from '../scheduled/balance-service';

export interface MonitorRunInput {
  /** Major units, merged over the stored thresholds for this run only. */
  thresholds?: Thresholds;
  force?: boolean;
}

export interface MonitorRunner {
  run(input: MonitorRunInput): Promise<MonitorRunResult>;
}

export class MonitorInvokeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonitorInvokeError';
  }
}

const manualEvent = (detail: MonitorRunInput) => ({
  version: '0',
  id: `manual-${Date.now().toString(36)}`,
  'detail-type': 'Manual balance check',
  source: 'rift.admin-balance',
  time: new Date().toISOString(),
  resources: [],
  detail,
});

const isResult = (v: unknown): v is MonitorRunResult => !!v && typeof v === 'object' && 'ok' in v && 'emailed' in v;

export function createLambdaMonitorRunner(client: LambdaClient, functionName: string): MonitorRunner {
  return {
    async run(input) {
      const out = await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(manualEvent(input))),
        }),
      );
      const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
      if (out.FunctionError) {
        let msg = text;
        try {
          msg = (JSON.parse(text) as { errorMessage?: string }).errorMessage ?? text;
        } catch {
          /* keep the raw text */
        }
        throw new MonitorInvokeError(`balance-monitor failed: ${msg.slice(0, 500)}`);
      }
      const parsed: unknown = text ? JSON.parse(text) : null;
      if (!isResult(parsed)) throw new MonitorInvokeError('balance-monitor returned an unexpected payload');
      return parsed;
    },
  };
}

export function createHttpMonitorRunner(localInvokeUrl: string, fetchImpl: typeof fetch = fetch): MonitorRunner {
  const url = `${localInvokeUrl.replace(/\/+$/, '')}/_local/invoke/balance-monitor`;
  return {
    async run(input) {
      const res = await fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
      const text = await res.text();
      if (!res.ok) throw new MonitorInvokeError(`balance-monitor failed locally (${res.status}): ${text.slice(0, 500)}`);
      const parsed: unknown = text ? JSON.parse(text) : null;
      if (!isResult(parsed)) throw new MonitorInvokeError('balance-monitor returned an unexpected payload');
      return parsed;
    },
  };
}

export function createInProcessMonitorRunner(run: (input: MonitorRunInput) => Promise<MonitorRunResult>): MonitorRunner {
  return { run };
}

let lambdaClient: LambdaClient | undefined;

/** The runner for this environment: local invoke URL first, else the Lambda function name. */
export function createMonitorRunner(config: Pick<Config, 'localInvokeUrl' | 'balanceMonitorFunctionName' | 'region'>): MonitorRunner {
  if (config.localInvokeUrl) return createHttpMonitorRunner(config.localInvokeUrl);
  if (config.balanceMonitorFunctionName) {
    lambdaClient ??= new LambdaClient({ region: config.region });
    return createLambdaMonitorRunner(lambdaClient, config.balanceMonitorFunctionName);
  }
  throw new MonitorInvokeError('neither LOCAL_INVOKE_URL nor BALANCE_MONITOR_FUNCTION_NAME is set: cannot run the balance monitor');
}
