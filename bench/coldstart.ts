/**
 * Cold start: bundle each function entry the way the CDK construct does (lib/rift-function.ts:
 * esbuild, bundle, minify, linked source map, platform node, target node22, ESM, mainFields
 * module/main, the createRequire banner, AWS SDK bundled), with a metafile; then time a fresh
 * `node` process importing the bundle until `handler` is a function (process.hrtime inside the
 * child), next to a floor bundle per function that imports only the SDK clients it needs.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { FUNCTIONS, type FunctionName } from '../functions/routes';
import { median } from './lib/stats';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(os.tmpdir(), `rift-bench-bundles-${process.pid}`);

const BANNER = "import{createRequire as __rift_cr}from'node:module';const require=__rift_cr(import.meta.url);";
const options: esbuild.BuildOptions = {
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  sourcesContent: false,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: { js: BANNER },
  metafile: true,
  logLevel: 'silent',
  absWorkingDir: ROOT,
};

/** The SDK clients a function legitimately needs, from FUNCTIONS (what its floor bundle imports). */
export function floorImports(fn: FunctionName): { spec: string; names: string[] }[] {
  const s = FUNCTIONS[fn];
  const out: { spec: string; names: string[] }[] = [];
  if (s.table !== 'none') out.push({ spec: '@aws-sdk/client-dynamodb', names: ['DynamoDBClient'] }, { spec: '@aws-sdk/lib-dynamodb', names: ['DynamoDBDocumentClient'] });
  const stripeFacing = s.stripe || s.webhookSecret;
  if (stripeFacing) out.push({ spec: 'stripe', names: ['default'] });
  // Stripe keys come from Secrets Manager in AWS (read once per cold start): the same client is legitimate.
  if (stripeFacing) out.push({ spec: '@aws-sdk/client-secrets-manager', names: ['SecretsManagerClient'] });
  if (s.mail) out.push({ spec: '@aws-sdk/client-sesv2', names: ['SESv2Client'] });
  if (s.invokes?.length) out.push({ spec: '@aws-sdk/client-lambda', names: ['LambdaClient'] });
  return out;
}

function floorSource(fn: FunctionName): string {
  const imports = floorImports(fn);
  const lines: string[] = [];
  const refs: string[] = [];
  imports.forEach((imp, i) => {
    const names = imp.names.map((n, j) => {
      const local = `c${i}_${j}`;
      refs.push(local);
      return n === 'default' ? local : `${n} as ${local}`;
    });
    lines.push(imp.names[0] === 'default' ? `import ${names[0]} from '${imp.spec}';` : `import { ${names.join(', ')} } from '${imp.spec}';`);
  });
  lines.push(`export const handler = async () => [${refs.join(', ')}].length;`);
  return lines.join('\n');
}

const packageOf = (input: string): string => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (m) return m[1]!;
  if (input.startsWith('<stdin>')) return '(floor entry)';
  return `(project) ${input.split('/').slice(0, 2).join('/')}`;
};

export interface BundleInfo {
  fn: FunctionName;
  bytes: number;
  floorBytes: number;
  topPackages: { name: string; bytes: number }[];
  /** Every package (and project folder) in the bundle, largest first. */
  byPackage: { name: string; bytes: number }[];
  packages: Set<string>;
  floorPackages: Set<string>;
  hasStripe: boolean;
  hasSes: boolean;
  /** The import chain from the entry to the Stripe SDK / SES client when present. */
  stripeChain?: string[];
  sesChain?: string[];
  file: string;
  floorFile: string;
  floorImports: string[];
}

export interface ColdStartRow {
  fn: FunctionName;
  importMs: number;
  floorImportMs: number;
  /** CPU time (user + system) of the import: less sensitive to neighbours on a shared machine. */
  cpuMs: number;
  floorCpuMs: number;
  /** Median of the per-pair ratios handler/floor (each pair run back to back): what the budget checks. */
  pairedRatio: number;
  pairedCpuRatio: number;
  readyMs: number;
  floorReadyMs: number;
  samples: number;
}

/** Shortest chain of imports (BFS over the metafile) from the entry to a file of `pkg`. */
function chainTo(meta: esbuild.Metafile, entry: string, pkg: RegExp): string[] | undefined {
  const prev = new Map<string, string | null>([[entry, null]]);
  const queue = [entry];
  while (queue.length) {
    const cur = queue.shift()!;
    if (pkg.test(cur)) {
      const chain: string[] = [];
      for (let c: string | null | undefined = cur; c; c = prev.get(c)) chain.unshift(c);
      // Keep the project files and the first package file.
      const firstPkg = chain.findIndex((c) => c.includes('node_modules/'));
      return chain.slice(0, firstPkg + 1);
    }
    for (const imp of meta.inputs[cur]?.imports ?? []) {
      if (imp.external || prev.has(imp.path)) continue;
      prev.set(imp.path, cur);
      queue.push(imp.path);
    }
  }
  return undefined;
}

export async function buildBundles(fns: FunctionName[]): Promise<BundleInfo[]> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const out: BundleInfo[] = [];
  for (const fn of fns) {
    const entry = FUNCTIONS[fn].entry;
    const file = path.join(OUT, fn, 'index.mjs');
    const r = await esbuild.build({ ...options, entryPoints: [entry], outfile: file });
    const floorFile = path.join(OUT, `${fn}-floor`, 'index.mjs');
    const fr = await esbuild.build({ ...options, stdin: { contents: floorSource(fn), resolveDir: ROOT, sourcefile: 'floor.mjs', loader: 'js' }, outfile: floorFile });
    const meta = r.metafile!;
    const sizes = (m: esbuild.Metafile) => {
      const output = Object.entries(m.outputs).find(([k]) => k.endsWith('.mjs'))![1];
      const byPkg = new Map<string, number>();
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
        const p = packageOf(input);
        byPkg.set(p, (byPkg.get(p) ?? 0) + bytesInOutput);
      }
      return byPkg;
    };
    const byPkg = sizes(meta);
    const floorPackages = new Set(sizes(fr.metafile!).keys());
    const packages = new Set([...byPkg.keys()]);
    const hasStripe = [...packages].some((p) => p === 'stripe');
    const hasSes = [...packages].some((p) => p === '@aws-sdk/client-sesv2');
    out.push({
      fn,
      bytes: statSync(file).size,
      floorBytes: statSync(floorFile).size,
      topPackages: [...byPkg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name, bytes]) => ({ name, bytes })),
      byPackage: [...byPkg.entries()].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => ({ name, bytes })),
      packages,
      floorPackages,
      hasStripe,
      hasSes,
      ...(hasStripe ? { stripeChain: chainTo(meta, entry, /node_modules\/stripe\//) } : {}),
      ...(hasSes ? { sesChain: chainTo(meta, entry, /node_modules\/@aws-sdk\/client-sesv2\//) } : {}),
      file,
      floorFile,
      floorImports: floorImports(fn).map((i) => i.spec),
    });
  }
  return out;
}

const CHILD = `
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const mod = await import(process.argv[1]);
if (typeof mod.handler !== 'function') { console.error('no handler export'); process.exit(2); }
const t1 = process.hrtime.bigint();
const c1 = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ importMs: Number(t1 - t0) / 1e6, cpuMs: (c1.user + c1.system) / 1000, readyMs: performance.now() }));
`;

type Sample = { importMs: number; cpuMs: number; readyMs: number };
async function once(file: string): Promise<Sample> {
  const runner = path.join(OUT, 'child.mjs');
  const { stdout } = await run(process.execPath, ['--enable-source-maps', runner, file], {
    cwd: path.dirname(file),
    // As in Lambda: NODE_OPTIONS=--enable-source-maps (the construct sets it); no AWS SDK Node-version warning on node22.
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_SERVICE_NAME: 'rift', TABLE_NAME: 'rift' },
  });
  return JSON.parse(stdout) as Sample;
}

/** Median of `samples` fresh processes per bundle, handler and floor interleaved (same conditions). */
export async function measureColdStarts(bundles: BundleInfo[], samples: number, log: (l: string) => void): Promise<{ rows: ColdStartRow[]; emptyReadyMs: number }> {
  const runner = path.join(OUT, 'child.mjs');
  writeFileSync(runner, CHILD.replace('process.argv[1]', 'process.argv[2]'));
  const empty = path.join(OUT, 'empty.mjs');
  writeFileSync(empty, 'export const handler = async () => 0;\n');
  await once(empty);
  const emptyReady: number[] = [];
  const rows: ColdStartRow[] = [];
  for (const b of bundles) {
    await once(b.file); // page cache
    await once(b.floorFile);
    const h: Sample[] = [];
    const f: Sample[] = [];
    for (let i = 0; i < samples; i++) {
      h.push(await once(b.file));
      f.push(await once(b.floorFile));
    }
    emptyReady.push((await once(empty)).readyMs);
    const row: ColdStartRow = {
      fn: b.fn,
      importMs: median(h.map((x) => x.importMs)),
      floorImportMs: median(f.map((x) => x.importMs)),
      cpuMs: median(h.map((x) => x.cpuMs)),
      floorCpuMs: median(f.map((x) => x.cpuMs)),
      pairedRatio: median(h.map((x, i) => x.importMs / f[i]!.importMs)),
      pairedCpuRatio: median(h.map((x, i) => x.cpuMs / f[i]!.cpuMs)),
      readyMs: median(h.map((x) => x.readyMs)),
      floorReadyMs: median(f.map((x) => x.readyMs)),
      samples,
    };
    log(`  ${b.fn.padEnd(15)} import ${row.importMs.toFixed(1)} ms (floor ${row.floorImportMs.toFixed(1)} ms), cpu ${row.cpuMs.toFixed(1)} ms (floor ${row.floorCpuMs.toFixed(1)} ms), process start → ready ${row.readyMs.toFixed(1)} ms (floor ${row.floorReadyMs.toFixed(1)} ms)`);
    rows.push(row);
  }
  return { rows, emptyReadyMs: median(emptyReady) };
}

export function cleanBundles(): void {
  rmSync(OUT, { recursive: true, force: true });
}
