/**
 * `npm start`: the whole Rift service on one machine (see the contract, "The local stack").
 * Errors a new user can hit are one line, without a stack trace; Ctrl-C stops everything.
 */
import { startLocalStack, type LocalStack } from '../local/stack';

// Lambda runs Node.js 22; locally Node 20 is supported, so the SDK's upgrade notice is only noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const fail = (e: unknown): never => {
  const msg = ((e as Error)?.message ?? String(e)).split('\n')[0];
  console.error(`rift: ${msg}`);
  process.exit(1);
};

async function main() {
  let stack: LocalStack | undefined;
  let starting: Promise<LocalStack> | undefined;
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`\nrift: ${signal}, stopping...`);
    const hard = setTimeout(() => {
      console.error('rift: did not stop within 10 s; exiting');
      process.exit(1);
    }, 10_000);
    hard.unref();
    // A signal during start: let the start settle (it stops what it started on failure), then stop.
    const settled = starting ? starting.then((s) => s.stop(), () => undefined) : Promise.resolve();
    settled.then(
      () => {
        console.log('rift: stopped');
        process.exit(0);
      },
      (e) => fail(e),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));

  const inMemory = process.env.RIFT_IN_MEMORY === '1';
  console.log(`rift: starting the local stack (${inMemory ? 'in memory' : `data in ${process.env.RIFT_DATA_DIR || '.rift-local/'}`})...`);
  try {
    starting = startLocalStack({ quiet: process.env.RIFT_QUIET === '1' });
    stack = await starting;
  } catch (e) {
    if (shuttingDown) return;
    return fail(e);
  }
  if (shuttingDown) return; // a signal arrived during start: shutdown() takes it from here

  // The banner only once GET /api/health answers 200.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (shuttingDown) return;
    const { down } = await stack.health();
    if (down.length === 0) break;
    if (Date.now() > deadline) {
      await stack.stop().catch(() => undefined);
      return fail(new Error(`local stack part(s) not answering: ${down.join(', ')}`));
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const lines = [
    '',
    'Rift local stack is up',
    `  API                ${stack.apiUrl}/api            (health: ${stack.apiUrl}/api/health)`,
    `  Dashboard          ${stack.apiUrl}/admin/stripe-balance`,
    `  Mail viewer (SES)  ${stack.sesUrl}/            (JSON: ${stack.sesUrl}/store)`,
    `  Stripe emulator    ${stack.stripeUrl}`,
    `  DynamoDB Local     ${stack.dynamodbEndpoint}        (table ${stack.tableName})`,
    '',
    '  Token:   npm run token -- --sub user_b [--admin]',
    '  Run now: npm run invoke -- balance-monitor|reconciler [--force]',
    '  Ctrl-C to stop.',
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch(fail);
