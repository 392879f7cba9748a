/**
 * `npm run token -- --sub user_b [--admin] [--groups a,b] [--ttl 3600]`
 * prints an HS256 JWT for the local stack (signed with RIFT_LOCAL_JWT_SECRET).
 */
import { parseArgs } from 'node:util';
import { mintToken } from './jwt';

function usage(msg?: string): never {
  if (msg) console.error(`token: ${msg}`);
  console.error('usage: npm run token -- --sub <userId> [--admin] [--groups a,b] [--ttl seconds]');
  process.exit(2);
}

let values: { sub?: string; admin?: boolean; groups?: string; ttl?: string };
try {
  ({ values } = parseArgs({
    options: { sub: { type: 'string' }, admin: { type: 'boolean' }, groups: { type: 'string' }, ttl: { type: 'string' } },
    strict: true,
  }));
} catch (e) {
  usage((e as Error).message);
}
if (!values.sub) usage('--sub is required');
const groups = (values.groups ?? '')
  .split(',')
  .map((g) => g.trim())
  .filter(Boolean);
if (values.admin && !groups.includes('admin')) groups.unshift('admin');
const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) usage('--ttl must be a positive number of seconds');

console.log(await mintToken({ sub: values.sub, groups, ttlSeconds: ttl }));
