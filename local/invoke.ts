/**
 * `npm run invoke -- balance-monitor|reconciler [--force] [--thresholds '{"USD":2000}']`
 * runs a scheduled function now on the running local stack and prints its JSON result.
 */
import { parseArgs } from 'node:util';

const FNS = ['balance-monitor', 'reconciler'];

function usage(msg?: string): never {
  if (msg) console.error(`invoke: ${msg}`);
  console.error(`usage: npm run invoke -- ${FNS.join('|')} [--force] [--thresholds '{"USD":2000}']`);
  process.exit(2);
}

let parsed: { values: { force?: boolean; thresholds?: string }; positionals: string[] };
try {
  parsed = parseArgs({ options: { force: { type: 'boolean' }, thresholds: { type: 'string' } }, allowPositionals: true, strict: true });
} catch (e) {
  usage((e as Error).message);
}
const fn = parsed.positionals[0];
if (!fn || !FNS.includes(fn) || parsed.positionals.length > 1) usage(fn ? `unknown function ${fn}` : 'which function?');

const detail: Record<string, unknown> = {};
if (parsed.values.force) detail.force = true;
if (parsed.values.thresholds) {
  try {
    detail.thresholds = JSON.parse(parsed.values.thresholds);
  } catch {
    usage('--thresholds must be JSON, e.g. {"USD":2000}');
  }
}

const port = process.env.PORT || '3000';
const url = `http://127.0.0.1:${port}/_local/invoke/${fn}`;
let res: Response;
try {
  res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(detail) });
} catch {
  console.error(`invoke: no local stack answers on port ${port}: start it with npm start (or set PORT)`);
  process.exit(1);
}
const text = await res.text();
let out = text;
try {
  out = JSON.stringify(JSON.parse(text), null, 2);
} catch {
  /* print as is */
}
if (res.ok) console.log(out);
else {
  console.error(out);
  process.exit(1);
}
