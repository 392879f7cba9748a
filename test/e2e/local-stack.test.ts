/**
 * End to end: the REAL `npm start` (tsx bin/local.ts) as a child process on free ports,
 * in memory; health, auth, a contract-shaped answer, SES mail read back, clean stop with no
 * Java process left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { freePort } from '../../local/ports';
import { mintToken } from '../../local/jwt';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const SECRET = 'e2e-secret';

interface Started {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(env: Record<string, string>): Started {
  const child = spawn(TSX, ['bin/local.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, exited };
}

/** PIDs of java processes whose command line names this DynamoDB port. */
function javaOnPort(port: number): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (!/java$/.test(argv[0] ?? '')) continue;
      const i = argv.indexOf('-port');
      if (i >= 0 && argv[i + 1] === String(port) && argv.some((a) => a.includes('DynamoDBLocal'))) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}

describe('npm start (the local stack, end to end)', () => {
  let ports: { api: number; ddb: number; stripe: number; ses: number };
  let stack: Started;
  let api: string;

  beforeAll(async () => {
    ports = { api: await freePort(), ddb: await freePort(), stripe: await freePort(), ses: await freePort() };
    api = `http://127.0.0.1:${ports.api}`;
    stack = startCli({
      PORT: String(ports.api),
      DYNAMODB_PORT: String(ports.ddb),
      STRIPE_EMULATOR_PORT: String(ports.stripe),
      SES_PORT: String(ports.ses),
      RIFT_IN_MEMORY: '1',
      RIFT_LOCAL_JWT_SECRET: SECRET,
      TABLE_NAME: 'rift-e2e',
    });
    let exitedEarly = false;
    void stack.exited.then(() => (exitedEarly = true));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exitedEarly) throw new Error(`npm start exited early:\n${stack.out()}`);
      try {
        const r = await fetch(`${api}/api/health`, { signal: AbortSignal.timeout(2000) });
        if (r.status === 200) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`no healthy stack within 60 s:\n${stack.out()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 90_000);

  afterAll(async () => {
    if (stack && stack.child.exitCode === null && stack.child.signalCode === null) {
      stack.child.kill('SIGKILL');
      await stack.exited;
    }
    // never leave a Java child behind, even when a test failed
    for (const pid of ports ? javaOnPort(ports.ddb) : []) process.kill(pid, 'SIGKILL');
  });

  it('answers health and prints the banner with every URL', async () => {
    const r = await fetch(`${api}/api/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok' });
    // the banner is printed once health answers 200
    const deadline = Date.now() + 5000;
    while (!stack.out().includes('Rift local stack is up') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    const out = stack.out();
    expect(out).toContain(`${api}/admin/stripe-balance`);
    expect(out).toContain(`http://127.0.0.1:${ports.ses}`);
    expect(out).toContain(`http://127.0.0.1:${ports.stripe}`);
    expect(out).toContain('npm run token -- --sub user_b');
  });

  it('401 without a token; a contract-shaped answer with one', async () => {
    const no = await fetch(`${api}/api/rifts`);
    expect(no.status).toBe(401);
    const noBody = (await no.json()) as { error: { code: string; requestId: string } };
    expect(noBody.error.code).toBe('unauthorized');
    expect(no.headers.get('x-request-id')).toBe(noBody.error.requestId);

    const token = await mintToken({ sub: 'user_b', secret: SECRET });
    const res = await fetch(`${api}/api/rifts`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { rifts?: unknown[]; error?: { code: string; message: string; requestId: string } };
    if (res.status === 200) {
      expect(Array.isArray(body.rifts)).toBe(true);
    } else {
      expect(body.error?.code).toEqual(expect.any(String));
      expect(body.error?.requestId).toEqual(expect.any(String));
      expect(res.headers.get('x-request-id')).toBe(body.error!.requestId);
    }
  });

  it('unknown routes are 404 not_found in the contract shape', async () => {
    const res = await fetch(`${api}/api/nope`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('not_found');
    expect(res.headers.get('x-request-id')).toBe(body.error.requestId);
  });

  it('runs a scheduled function on demand', async () => {
    const res = await fetch(`${api}/_local/invoke/reconciler`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    await res.json();
  });

  it('the Stripe emulator answers on its port', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.stripe}/v1/balance`, { headers: { authorization: 'Bearer sk_test_local' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('balance');
  });

  it('mail sent through SES is readable at GET /store', async () => {
    const ses = new SESv2Client({ endpoint: `http://127.0.0.1:${ports.ses}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const subject = `e2e ${Date.now()}`;
    await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'alerts@rift.local',
        Destination: { ToAddresses: ['admin@rift.local'] },
        Content: { Simple: { Subject: { Data: subject }, Body: { Text: { Data: 'hello from the e2e test' }, Html: { Data: '<p>hello</p>' } } } },
      }),
    );
    ses.destroy();
    const store = (await (await fetch(`http://127.0.0.1:${ports.ses}/store`)).json()) as { emails: { subject: string; destination: { to: string[] }; body: { text?: string } }[] };
    const mail = store.emails.find((e) => e.subject === subject);
    expect(mail).toBeDefined();
    expect(mail!.destination.to).toEqual(['admin@rift.local']);
    expect(mail!.body.text).toContain('hello from the e2e test');
  });

  it('SIGTERM stops everything: exit 0, ports released, no Java left', async () => {
    expect(javaOnPort(ports.ddb).length).toBe(1);
    stack.child.kill('SIGTERM');
    const { code } = await stack.exited;
    expect(code).toBe(0);
    expect(javaOnPort(ports.ddb)).toEqual([]);
    await expect(fetch(`${api}/api/health`)).rejects.toThrow();
  }, 20_000);
});

describe('npm start: one-line errors', () => {
  it('names the variable when a port is in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const s = startCli({
        PORT: String(await freePort()),
        DYNAMODB_PORT: String(await freePort()),
        STRIPE_EMULATOR_PORT: String(busy),
        SES_PORT: String(await freePort()),
        RIFT_IN_MEMORY: '1',
      });
      const { code } = await s.exited;
      expect(code).toBe(1);
      const errLines = s.out().trim().split('\n').filter((l) => l.startsWith('rift:'));
      expect(errLines.at(-1)).toBe(`rift: port ${busy} is in use: set STRIPE_EMULATOR_PORT to another port`);
      expect(s.out()).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      blocker.close();
    }
  });
});
