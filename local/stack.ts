/**
 * The whole service on one machine: DynamoDB Local, the Stripe emulator, SES (aws-ses-v2-local),
 * the API Gateway emulation in front of the real handler modules, and the schedule.
 *
 * process.env is set for the handlers BEFORE any handler module is imported (they read their
 * configuration at load), so only one stack per process makes sense.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { assertPortFree, freePort } from './ports';
import { ensureTable, localDynamoClient, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb';
import { startSesLocal, type SesLocal } from './ses';
import { importHandler, invokeScheduled, startApiServer, type ApiServer, type HandlerResolver, type HealthProbe } from './api-gateway';
import { startScheduler, type Scheduler } from './scheduler';
import { startStripeEmulator } from './stripe-emulator/index';

export interface LocalStackOptions {
  /** API port; default PORT or 3000; 0 = a free port. */
  port?: number;
  /** Default DYNAMODB_PORT or 8000; 0 = a free port. */
  dynamodbPort?: number;
  /** Use an already running DynamoDB (e.g. the vitest global setup's) instead of starting one. */
  dynamodbEndpoint?: string;
  /** Default STRIPE_EMULATOR_PORT or 12111; 0 = a free port. */
  stripePort?: number;
  /** Default SES_PORT or 8005; 0 = a free port. */
  sesPort?: number;
  /** Default RIFT_DATA_DIR or `.rift-local/`. */
  dataDir?: string;
  /** Default RIFT_IN_MEMORY=1. */
  inMemory?: boolean;
  /** Default TABLE_NAME or `rift`. */
  tableName?: string;
  /** Run the EventBridge schedule (default true). */
  schedule?: boolean;
  /** No request log lines (default false). */
  quiet?: boolean;
  /** Where log lines go (default console.log). */
  log?: (line: string) => void;
  /** Tests: replace the handler modules. */
  resolveHandler?: HandlerResolver;
}

export interface LocalStack {
  apiUrl: string;
  stripeUrl: string;
  sesUrl: string;
  dynamodbEndpoint: string;
  tableName: string;
  /** PID of the DynamoDB Local Java child (undefined when an endpoint was given). */
  dynamodbPid?: number;
  /** Runs `balance-monitor` or `reconciler` now (same path as POST /_local/invoke). */
  invoke(fn: 'balance-monitor' | 'reconciler', detail?: Record<string, unknown>): Promise<unknown>;
  /** Which parts do not answer (empty = healthy). */
  health(): Promise<{ down: string[] }>;
  stop(): Promise<void>;
}

const envPort = (v: string | undefined, dflt: number, name: string) => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name}=${v} is not a port number`);
  return n;
};

async function pickPort(port: number, variable: string): Promise<number> {
  if (port === 0) return freePort();
  await assertPortFree(port, variable);
  return port;
}

/** DynamoDB Local keeps its data in SQLite files: a `.db` without the SQLite header is corrupt. */
export function findCorruptDbFile(dataDir: string): string | undefined {
  const magic = Buffer.from('SQLite format 3\0', 'latin1');
  for (const f of readdirSync(dataDir)) {
    if (!f.endsWith('.db')) continue;
    const file = path.join(dataDir, f);
    const st = statSync(file);
    if (!st.isFile() || st.size === 0) continue;
    const head = Buffer.alloc(magic.length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, head, 0, magic.length, 0);
    } finally {
      closeSync(fd);
    }
    if (!head.equals(magic)) return file;
  }
  return undefined;
}

const oneLine = (e: unknown) => ((e as Error)?.message ?? String(e)).split('\n')[0]!;

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const env = process.env;
  const log = opts.log ?? ((l: string) => console.log(l));
  const tableName = opts.tableName ?? (env.TABLE_NAME || 'rift');
  const inMemory = opts.inMemory ?? env.RIFT_IN_MEMORY === '1';
  // No data dir when we do not run DynamoDB ourselves (an endpoint was given).
  const dataDir = inMemory || opts.dynamodbEndpoint ? undefined : path.resolve(opts.dataDir ?? (env.RIFT_DATA_DIR || '.rift-local'));
  const webhookSecret = env.STRIPE_WEBHOOK_SECRET || 'whsec_local';
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';

  // Check every port before binding anything: one clear line naming the variable.
  const apiPort = await pickPort(opts.port ?? envPort(env.PORT, 3000, 'PORT'), 'PORT');
  const stripePortWanted = await pickPort(opts.stripePort ?? envPort(env.STRIPE_EMULATOR_PORT, 12111, 'STRIPE_EMULATOR_PORT'), 'STRIPE_EMULATOR_PORT');
  const sesPortWanted = await pickPort(opts.sesPort ?? envPort(env.SES_PORT, 8005, 'SES_PORT'), 'SES_PORT');
  const ddbPortWanted = opts.dynamodbEndpoint ? undefined : await pickPort(opts.dynamodbPort ?? envPort(env.DYNAMODB_PORT, 8000, 'DYNAMODB_PORT'), 'DYNAMODB_PORT');

  if (dataDir) {
    try {
      mkdirSync(dataDir, { recursive: true });
      if (!statSync(dataDir).isDirectory()) throw new Error('not a directory');
    } catch (e) {
      throw new Error(`RIFT_DATA_DIR ${dataDir} is not a usable directory (${oneLine(e)}): point RIFT_DATA_DIR elsewhere or set RIFT_IN_MEMORY=1`);
    }
    const corrupt = findCorruptDbFile(dataDir);
    if (corrupt) throw new Error(`the data dir is corrupt (${corrupt} is not a DynamoDB Local database): move ${dataDir} away or set RIFT_IN_MEMORY=1`);
  }

  let ddb: DynamoDbLocal | undefined;
  let stripe: Awaited<ReturnType<typeof startStripeEmulator>> | undefined;
  let ses: SesLocal | undefined;
  let api: ApiServer | undefined;
  let scheduler: Scheduler | undefined;
  let stopping: Promise<void> | undefined;
  let killOnExit: (() => void) | undefined;
  let ddbClient: ReturnType<typeof localDynamoClient> | undefined;

  const stop = () => {
    stopping ??= (async () => {
      const errors: string[] = [];
      const step = async (name: string, f: (() => Promise<void> | void) | undefined) => {
        if (!f) return;
        try {
          await f();
        } catch (e) {
          errors.push(`${name}: ${oneLine(e)}`);
        }
      };
      await step('scheduler', scheduler && (() => scheduler!.stop()));
      await step('api', api && (() => api!.close()));
      await step('stripe emulator', stripe && (() => stripe!.close()));
      await step('ses', ses && (() => ses!.close()));
      await step('dynamodb', ddb && (() => ddb!.stop()));
      ddbClient?.destroy();
      if (killOnExit) process.off('exit', killOnExit);
      if (errors.length) throw new Error(`stopping the local stack: ${errors.join('; ')}`);
    })();
    return stopping;
  };

  try {
    // DynamoDB
    let dynamodbEndpoint: string;
    if (opts.dynamodbEndpoint) {
      dynamodbEndpoint = opts.dynamodbEndpoint;
    } else {
      ddb = await startDynamoDbLocal({ port: ddbPortWanted!, dataDir });
      dynamodbEndpoint = ddb.endpoint;
      // Last resort: never leave the Java child behind, even on process.exit().
      const pid = ddb.pid;
      killOnExit = () => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      };
      process.on('exit', killOnExit);
    }
    try {
      await ensureTable(dynamodbEndpoint, tableName);
    } catch (e) {
      throw new Error(
        dataDir
          ? `DynamoDB Local cannot use the data in ${dataDir} (corrupt?): move it away or set RIFT_IN_MEMORY=1 (${oneLine(e)})`
          : `cannot create table ${tableName}: ${oneLine(e)}`,
      );
    }

    // Stripe emulator: webhooks to our own API.
    stripe = await startStripeEmulator({ port: stripePortWanted, host: '127.0.0.1', webhookUrl: `http://127.0.0.1:${apiPort}/api/webhooks/stripe`, webhookSecret });

    // SES
    ses = await startSesLocal({ port: sesPortWanted });

    // The handlers' environment: the same names as in Lambda; secrets straight from env.
    Object.assign(env, {
      TABLE_NAME: tableName,
      DYNAMODB_ENDPOINT: dynamodbEndpoint,
      STRIPE_SECRET_KEY: 'sk_test_local',
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(stripe.port),
      STRIPE_API_PROTOCOL: 'http',
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      SES_ENDPOINT: ses.url,
      ADMIN_EMAIL: env.ADMIN_EMAIL || 'admin@rift.local',
      ALERT_FROM_EMAIL: env.ALERT_FROM_EMAIL || 'alerts@rift.local',
      LOCAL_INVOKE_URL: `http://127.0.0.1:${apiPort}`,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID || 'local',
      AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY || 'local',
    });
    // Handlers must never reach real Secrets Manager locally.
    delete env.STRIPE_SECRET_ARN;
    delete env.STRIPE_WEBHOOK_SECRET_ARN;

    const stripeUrl = stripe.url.replace(/\/$/, '');
    const sesUrl = ses.url;
    const client = (ddbClient = localDynamoClient(dynamodbEndpoint, region));
    const probe = async (name: string, f: (signal: AbortSignal) => Promise<boolean>) => {
      try {
        return (await f(AbortSignal.timeout(2000))) ? undefined : name;
      } catch {
        return name;
      }
    };
    const health: HealthProbe = async () => {
      const down = await Promise.all([
        probe('dynamodb', async (signal) => Array.isArray((await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: signal })).TableNames)),
        probe('stripe-emulator', async (signal) => (await fetch(`${stripeUrl}/v1/balance`, { headers: { authorization: 'Bearer sk_test_local' }, signal })).ok),
        probe('ses', async (signal) => (await fetch(`${sesUrl}/store`, { signal })).ok),
      ]);
      return { down: down.filter((d): d is string => d !== undefined) };
    };

    // Imported lazily (dynamic import inside the resolver): env is set now.
    const resolve = opts.resolveHandler ?? importHandler;
    api = await startApiServer({
      port: apiPort,
      resolveHandler: resolve,
      health,
      log: (line) => {
        const isRequest = /^[A-Z]+ \S+ \d{3} \d+ms$/.test(line);
        if (!isRequest) console.error(line);
        else if (!opts.quiet) log(line);
      },
    });
    const invoke = (fn: 'balance-monitor' | 'reconciler', detail: Record<string, unknown> = {}) => invokeScheduled(fn, detail, resolve);

    if (opts.schedule ?? true) {
      scheduler = startScheduler({ invoke: (fn) => invoke(fn), log: (l) => (opts.quiet ? undefined : log(l)) });
    }

    return {
      apiUrl: api.url,
      stripeUrl,
      sesUrl,
      dynamodbEndpoint,
      tableName,
      dynamodbPid: ddb?.pid,
      invoke,
      health,
      stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
