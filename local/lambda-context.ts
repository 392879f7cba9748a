/** A Lambda-like invocation context for handlers run by the local stack. */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { FUNCTIONS, type FunctionName } from '../functions/routes';

export const LOCAL_ACCOUNT_ID = '123456789012';

export function lambdaContext(fn: FunctionName | string, opts: { awsRequestId?: string; timeoutSeconds?: number; region?: string } = {}): Context {
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const timeoutMs = (opts.timeoutSeconds ?? FUNCTIONS[fn as FunctionName]?.timeoutSeconds ?? 30) * 1000;
  const deadline = Date.now() + timeoutMs;
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  const noop = () => undefined;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${fn}`,
    memoryLimitInMB: '1024',
    awsRequestId: opts.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${fn}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: noop,
    fail: noop,
    succeed: noop,
  };
}
