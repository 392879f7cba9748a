/**
 * GET /api/openapi.json over HTTP: an OpenAPI 3.1 document with every route of the contract's route
 * table (parsed from /work/shared/api-contract.md when present, else functions/routes.ts), each
 * with its success status, and for the escrow routes their body schemas and contract error codes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../../functions/routes';
import { Api, startApi } from '../../support/api';

let api: Api;
let doc: any;

const CONTRACT = '/work/shared/api-contract.md';

/** `(METHOD, path, success status)` from the contract's route table. */
function contractRoutes(): { method: string; path: string; status: number | undefined }[] {
  if (!existsSync(CONTRACT)) return ROUTES.map((r) => ({ method: r.method, path: r.path, status: undefined }));
  const md = readFileSync(CONTRACT, 'utf8');
  const lines = md.slice(md.indexOf('## Routes')).split('\n').slice(1);
  const out: { method: string; path: string; status: number | undefined }[] = [];
  for (const line of lines) {
    if (/^#{2,3} /.test(line)) break; // the next section
    if (!line.startsWith('| `')) continue;
    const [first, , success] = line.split('|').slice(1).map((c) => c.trim());
    const status = Number(/^(\d{3})/.exec(success ?? '')?.[1]) || undefined;
    // "`GET /api/admin/thresholds`, `PUT /api/admin/thresholds`": several routes in one cell
    for (const m of (first ?? '').matchAll(/`(GET|POST|PUT|DELETE|PATCH) ([^`]+)`/g)) out.push({ method: m[1]!, path: m[2]!, status });
  }
  return out;
}

beforeAll(async () => {
  api = await startApi();
  const res = await api.get(null, '/api/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  doc = res.body;
});
afterAll(async () => {
  await api?.stack.stop();
});

const op = (method: string, path: string) => doc.paths?.[path]?.[method.toLowerCase()];

describe('GET /api/openapi.json', () => {
  it('is OpenAPI 3.1 with info and a bearer scheme, no token needed', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(typeof doc.info?.title).toBe('string');
    expect(typeof doc.info?.version).toBe('string');
    expect(doc.components?.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  const routes = contractRoutes();
  it('the contract route table was read', () => {
    expect(routes.length).toBeGreaterThanOrEqual(ROUTES.length);
    expect(routes).toContainEqual(expect.objectContaining({ method: 'POST', path: '/api/rifts/{riftId}/milestones/{index}/release' }));
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s is documented with its success status', (_k, r) => {
    const o = op(r.method, r.path);
    expect(o, `${r.method} ${r.path} missing from the document`).toBeDefined();
    if (r.status) expect(Object.keys(o.responses)).toContain(String(r.status));
    for (const param of r.path.matchAll(/\{(\w+)\}/g)) {
      expect(JSON.stringify(o.parameters ?? []), `path parameter ${param[1]}`).toContain(`"${param[1]}"`);
    }
  });

  it('every route of functions/routes.ts is in the contract and in the document (no drift)', () => {
    const contract = new Set(routes.map((r) => `${r.method} ${r.path}`));
    for (const r of ROUTES) {
      expect(contract.has(`${r.method} ${r.path}`), `${r.method} ${r.path} not in the contract`).toBe(true);
      expect(op(r.method, r.path)).toBeDefined();
    }
  });

  it.each([
    ['POST', '/api/rifts', ['sellerId', 'sellerAccountId', 'currency', 'milestones']],
    ['POST', '/api/rifts/{riftId}/fund', ['paymentMethodId']],
    ['POST', '/api/rifts/{riftId}/refunds', ['amount', 'reason']],
    ['POST', '/api/rifts/{riftId}/disputes', ['reason']],
    ['POST', '/api/rifts/{riftId}/disputes/resolve', ['outcome']],
  ])('%s %s documents its JSON body (%j)', (method, path, fields) => {
    const schema = op(method, path).requestBody?.content?.['application/json']?.schema;
    expect(schema).toBeDefined();
    const resolved = schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema;
    for (const f of fields) expect(Object.keys(resolved.properties ?? {})).toContain(f);
  });

  it.each([
    ['POST', '/api/rifts/{riftId}/milestones/{index}/release', ['409', '404', '403', '502']],
    ['POST', '/api/rifts/{riftId}/refunds', ['400', '409', '403', '404']],
    ['POST', '/api/rifts/{riftId}/fund', ['402', '409']],
    ['POST', '/api/rifts', ['400', '401', '422']],
  ])('%s %s documents its error statuses %j with the error schema', (method, path, statuses) => {
    const o = op(method, path);
    for (const s of statuses) {
      expect(Object.keys(o.responses)).toContain(s);
      expect(JSON.stringify(o.responses[s])).toContain('Error');
    }
  });

  it('the release route names the contract codes of its 409', () => {
    const d: string = op('POST', '/api/rifts/{riftId}/milestones/{index}/release').responses['409'].description;
    for (const code of ['rift_not_funded', 'rift_disputed', 'milestone_already_released', 'release_in_progress', 'rift_closed', 'insufficient_held_funds', 'insufficient_platform_balance']) {
      expect(d).toContain(code);
    }
  });
});
