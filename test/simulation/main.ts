/**
 * `SEED=<n> npm run simulate` replays one seed (verbose step log);
 * `npm run simulate -- --seeds 1000 [--from 1] [--steps 40] [--rifts 3]` runs a campaign.
 * Outside vitest, so it starts its own DynamoDB Local (in memory, on a free port) and one
 * in-process local stack, shared by every seed (each seed makes its own rifts).
 */
import '../support/quiet-env';
import { freePort } from '../../local/ports';
import { startDynamoDbLocal } from '../../local/dynamodb';
import { startTestStack } from '../support/faults-helpers';
import { formatFailure, runSimulation } from './sim';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

async function main() {
  const steps = Number(arg('steps') ?? process.env.STEPS ?? 40);
  const rifts = Number(arg('rifts') ?? process.env.RIFTS ?? 3);
  const single = process.env.SEED !== undefined && process.env.SEED !== '' ? Number(process.env.SEED) : undefined;
  const count = single !== undefined ? 1 : Number(arg('seeds') ?? 20);
  const from = single ?? Number(arg('from') ?? 1);
  const stopOnFailure = process.argv.includes('--stop-on-failure');

  const port = await freePort();
  const ddb = await startDynamoDbLocal({ port });
  const stopAll: (() => Promise<void>)[] = [() => ddb.stop()];
  // Ctrl-C or a kill mid-campaign: stop DynamoDB Local (a Java child) too, and say how far it got.
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      interrupted = true;
      console.log(`simulation: ${sig} after ${passed + failed} seeds (${passed} passed, ${failed} failed), ${operations} operations; stopping`);
      void Promise.allSettled(stopAll.map((s) => s())).then(() => process.exit(130));
    });
  }
  let failed = 0;
  let passed = 0;
  let operations = 0;
  const failedSeeds: number[] = [];
  const started = Date.now();
  try {
    const t = await startTestStack({ dynamodbEndpoint: ddb.endpoint, stripeTimeoutMs: 600 });
    stopAll.unshift(() => t.stop());
    for (let seed = from; seed < from + count && !interrupted; seed++) {
      const r = await runSimulation({ seed, steps, rifts, stack: t, verbose: single !== undefined });
      operations += r.operations;
      if (r.ok) passed++;
      else {
        failed++;
        failedSeeds.push(seed);
        console.error(formatFailure(r));
        if (stopOnFailure) break;
      }
      if (single === undefined && (seed - from + 1) % 10 === 0) {
        console.log(`… ${seed - from + 1}/${count} seeds, ${operations} operations, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    }
  } finally {
    for (const s of stopAll) await s().catch(() => undefined);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`simulation: ${passed} seeds passed, ${failed} failed${failedSeeds.length ? ` (${failedSeeds.join(', ')})` : ''}, ${operations} operations, ${steps} steps × ${rifts} rifts per seed, ${secs} s`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
