/**
 * Bad input, table-driven, over every POST/PUT route (and odd path parameters over every rift
 * route): malformed JSON, wrong types, amounts at and past the limits, floats, huge and unusual
 * Unicode strings, `__proto__`/`constructor`/`prototype` keys, unexpected fields, wrong
 * content-types, oversized bodies. Each case gets the contract's status and code in the one error
 * shape (`x-request-id` = `error.requestId`), and the whole batch leaves the DynamoDB table exactly
 * as it was (a full Scan dump before and after).
 *
 * Valid-but-unusual input (boundary amounts that are allowed, exotic Unicode that round-trips)
 * changes the table by design, so it runs after the batch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../../functions/routes';
import type { LocalStack } from '../../../local/stack';
import { dumpTable, type DumpItem } from '../../support/dump';
import {
  BUYER, call, createBody, createRift, expectErrorShape, fundedRift, mintTokens, newId, postWebhook, settleWebhooks, signWebhook, startStack, stripeEvent,
  type Principal, type Tokens,
} from './helpers';

let stack: LocalStack;
let api: string;
let tokens: Tokens;
let funded: string;
let unfunded: string;

// ---- the routes under test, with a valid body and the caller who has the right -----------------

interface RouteSetup {
  as: Principal;
  path: () => string;
  valid: () => Record<string, unknown>;
  /** Whether the generic JSON cases (content-type, malformed JSON, shapes) apply. */
  json: boolean;
}

const ROUTE_SETUP: Record<string, RouteSetup> = {
  'POST /api/rifts': { as: 'buyer', path: () => '/api/rifts', valid: () => createBody(), json: true },
  'POST /api/rifts/{riftId}/fund': { as: 'buyer', path: () => `/api/rifts/${unfunded}/fund`, valid: () => ({ paymentMethodId: 'pm_card_visa' }), json: true },
  'POST /api/rifts/{riftId}/milestones/{index}/release': { as: 'buyer', path: () => `/api/rifts/${funded}/milestones/0/release`, valid: () => ({}), json: true },
  'POST /api/rifts/{riftId}/refunds': { as: 'seller', path: () => `/api/rifts/${funded}/refunds`, valid: () => ({ amount: 100, reason: 'partial' }), json: true },
  'POST /api/rifts/{riftId}/disputes': { as: 'buyer', path: () => `/api/rifts/${funded}/disputes`, valid: () => ({ reason: 'late' }), json: true },
  'POST /api/rifts/{riftId}/disputes/resolve': { as: 'admin', path: () => `/api/rifts/${funded}/disputes/resolve`, valid: () => ({ outcome: 'dismiss' }), json: true },
  'POST /api/webhooks/stripe': { as: 'none', path: () => '/api/webhooks/stripe', valid: () => stripeEvent('customer.created', { id: 'cus_1', object: 'customer' }), json: false },
  'POST /api/admin/stripe-balance': { as: 'admin', path: () => '/api/admin/stripe-balance', valid: () => ({ force: false }), json: true },
  'PUT /api/admin/thresholds': { as: 'admin', path: () => '/api/admin/thresholds', valid: () => ({ thresholds: { USD: 1000 } }), json: true },
};

interface Case {
  name: string;
  route: string;
  as?: Principal;
  path?: () => string;
  /** A JSON value, or `raw` text. */
  json?: unknown;
  raw?: string | (() => string);
  headers?: Record<string, string> | (() => Record<string, string>);
  status: number;
  code: string | readonly string[];
}

const VALIDATION = 'validation_error';
const cases: Case[] = [];
const add = (route: string, c: Omit<Case, 'route'>) => cases.push({ route, ...c });
const big = (n: number) => 'x'.repeat(n);

/** `{"k": v, ...valid}` written by hand: JSON.stringify would drop or move a `__proto__` key. */
const rawWith = (valid: Record<string, unknown>, key: string, value: string) => {
  const rest = JSON.stringify(valid).slice(1);
  return `{${JSON.stringify(key)}:${value}${rest === '}' ? '}' : `,${rest}`}`;
};

// Generic cases for every JSON POST/PUT route.
for (const [route, s] of Object.entries(ROUTE_SETUP)) {
  if (!s.json) continue;
  const v = s.valid;
  for (const raw of ['{', '{"a":}', "{'a':1}", '{"a":1,}', '[1,]', 'undefined', 'NaN', '{} x', '\ufeff{}', '{"a":"\\x"}', '{"a":01}', '\u0000'])
    add(route, { name: `malformed JSON ${JSON.stringify(raw)}`, raw, status: 400, code: 'invalid_json' });
  for (const raw of ['null', '[]', '"text"', '42', 'true', '[{}]'])
    add(route, { name: `a JSON ${raw} instead of an object`, raw, status: 400, code: VALIDATION });
  add(route, { name: 'an unexpected field', json: { ...v(), unexpected: 1 }, status: 400, code: VALIDATION });
  for (const key of ['__proto__', 'constructor', 'prototype'])
    add(route, { name: `a "${key}" key`, raw: () => rawWith(v(), key, '{"isAdmin":true,"polluted":1}'), status: 400, code: VALIDATION });
  add(route, { name: 'content-type text/plain with a JSON body', raw: () => JSON.stringify(v()), headers: { 'content-type': 'text/plain' }, status: 400, code: VALIDATION });
  add(route, { name: 'content-type x-www-form-urlencoded', raw: 'a=1&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 400, code: VALIDATION });
  add(route, { name: 'content-type form-urlencoded with a JSON body', raw: () => JSON.stringify(v()), headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 400, code: VALIDATION });
  add(route, { name: 'content-type application/xml', raw: '<a/>', headers: { 'content-type': 'application/xml' }, status: 400, code: VALIDATION });
  add(route, { name: 'a body of 64 KiB + 1 byte', raw: () => rawWith(v(), 'pad', JSON.stringify(big(65_537))), status: 413, code: 'payload_too_large' });
  add(route, { name: 'a body of 1 MiB', raw: () => rawWith(v(), 'pad', JSON.stringify(big(1 << 20))), status: 413, code: 'payload_too_large' });
  add(route, {
    name: 'a body of exactly 64 KiB is read (then refused for its unexpected field)',
    raw: () => {
      const head = rawWith(v(), 'pad', '""');
      return rawWith(v(), 'pad', JSON.stringify(big(65_536 - Buffer.byteLength(head))));
    },
    status: 400,
    code: VALIDATION,
  });
  add(route, { name: 'deeply nested JSON', raw: `${'['.repeat(5000)}${']'.repeat(5000)}`, status: 400, code: VALIDATION });
}

// Amounts: the milestone amount of a new rift and the refund amount.
const BAD_AMOUNTS: [string, string][] = [
  ['0', '0'], ['-1', '-1'], ['1.5', '1.5'], ['"100"', '"100"'], ['100,000,000', '100000000'], ['1e21', '1e21'], ['1e400 (Infinity)', '1e400'],
  ['-0', '-0'], ['0.0000001', '1e-7'], ['2^53+1', '9007199254740993'], ['null', 'null'], ['true', 'true'], ['[]', '[]'], ['{}', '{}'],
  ['"1e3"', '"1e3"'], ['"0x10"', '"0x10"'], ['99999999.5', '99999999.5'],
];
for (const [name, literal] of BAD_AMOUNTS) {
  add('POST /api/rifts', {
    name: `milestone amount ${name}`,
    raw: () => JSON.stringify(createBody()).replace('"amount":10000', `"amount":${literal}`),
    status: 400,
    code: VALIDATION,
  });
  add('POST /api/rifts/{riftId}/refunds', { name: `refund amount ${name}`, raw: `{"amount":${literal}}`, status: 400, code: VALIDATION });
}
add('POST /api/rifts', { name: 'a total over 99,999,999 (two milestones of 50,000,000)', json: createBody([50_000_000, 50_000_000]), status: 400, code: VALIDATION });
add('POST /api/rifts', { name: 'a total over 99,999,999 (99,999,999 + 1)', json: createBody([99_999_999, 1]), status: 400, code: VALIDATION });
// A refund of 99,999,999 is a valid body: with no key, the next check (the header) answers.
add('POST /api/rifts/{riftId}/refunds', { name: 'refund amount 99,999,999 is valid: next comes the missing Idempotency-Key', json: { amount: 99_999_999 }, status: 400, code: 'idempotency_key_required' });
add('POST /api/rifts/{riftId}/refunds', { name: 'no Idempotency-Key', json: { amount: 100 }, status: 400, code: 'idempotency_key_required' });
add('POST /api/rifts/{riftId}/refunds', { name: 'an empty Idempotency-Key', json: { amount: 100 }, headers: { 'idempotency-key': '' }, status: 400, code: VALIDATION });
add('POST /api/rifts/{riftId}/refunds', { name: 'an Idempotency-Key of 256 characters', json: { amount: 100 }, headers: { 'idempotency-key': big(256) }, status: 400, code: VALIDATION });
for (const route of ['POST /api/rifts/{riftId}/disputes', 'POST /api/rifts/{riftId}/fund', 'POST /api/rifts']) {
  add(route, { name: 'an Idempotency-Key of 256 characters', json: ROUTE_SETUP[route]!.valid(), headers: { 'idempotency-key': big(256) }, status: 400, code: VALIDATION });
}

// POST /api/rifts: the other fields.
const withField = (k: string, val: unknown) => ({ ...createBody(), [k]: val });
const createBad: [string, unknown][] = [
  ['title 5', withField('title', 5)], ['title ""', withField('title', '')], ['title of spaces', withField('title', '   ')], ['title null', withField('title', null)],
  ['title of 201 characters', withField('title', big(201))], ['title of 1 MB-ish (60 KB)', withField('title', big(60_000))],
  ['sellerId missing', (({ sellerId: _s, ...r }) => r)(createBody())], ['sellerId 5', withField('sellerId', 5)], ['sellerId ""', withField('sellerId', '')],
  ['sellerId of 256 characters', withField('sellerId', big(256))], ['sellerId = the buyer', withField('sellerId', BUYER)], ['sellerId an object', withField('sellerId', { $ne: null })],
  ['sellerAccountId "acc_x"', withField('sellerAccountId', 'acc_x')], ['sellerAccountId "acct_"', withField('sellerAccountId', 'acct_')],
  ['sellerAccountId with a dash', withField('sellerAccountId', 'acct_a-b')], ['sellerAccountId with RTL override', withField('sellerAccountId', 'acct_\u202eabc')],
  ['currency "USD"', withField('currency', 'USD')], ['currency "us"', withField('currency', 'us')], ['currency "xyz"', withField('currency', 'xyz')],
  ['currency 840', withField('currency', 840)], ['currency missing', (({ currency: _c, ...r }) => r)(createBody())],
  ['milestones missing', (({ milestones: _m, ...r }) => r)(createBody())], ['milestones {}', withField('milestones', {})], ['milestones []', withField('milestones', [])],
  ['51 milestones', createBody(Array.from({ length: 51 }, () => 1))], ['a milestone without amount', withField('milestones', [{ title: 'a' }])],
  ['a milestone without title', withField('milestones', [{ amount: 1 }])], ['a milestone with an extra field', withField('milestones', [{ title: 'a', amount: 1, status: 'released' }])],
  ['a milestone that is a number', withField('milestones', [5])], ['a milestone title of 201 characters', withField('milestones', [{ title: big(201), amount: 1 }])],
];
for (const [name, json] of createBad) add('POST /api/rifts', { name, json, status: 400, code: VALIDATION });
add('POST /api/rifts', {
  name: 'a milestone with a "__proto__" key',
  raw: () => JSON.stringify(createBody()).replace('{"title":"M0"', '{"__proto__":{"status":"released"},"title":"M0"'),
  status: 400,
  code: VALIDATION,
});

// fund
for (const [name, json] of [
  ['paymentMethodId missing', {}], ['paymentMethodId 5', { paymentMethodId: 5 }], ['paymentMethodId ""', { paymentMethodId: '' }],
  ['paymentMethodId null', { paymentMethodId: null }], ['paymentMethodId of 256 characters', { paymentMethodId: big(256) }], ['paymentMethodId an array', { paymentMethodId: ['pm_card_visa'] }],
] as [string, unknown][])
  add('POST /api/rifts/{riftId}/fund', { name, json, status: 400, code: VALIDATION });

// release: the body must be empty or {}
add('POST /api/rifts/{riftId}/milestones/{index}/release', { name: 'a body with an amount', json: { amount: 1 }, status: 400, code: VALIDATION });

// refunds: reason
for (const [name, json] of [
  ['reason ""', { reason: '' }], ['reason of 2001 characters', { reason: big(2001) }], ['reason 5', { reason: 5 }], ['reason null', { reason: null }], ['reason an array', { reason: ['a'] }],
] as [string, unknown][])
  add('POST /api/rifts/{riftId}/refunds', { name, json, status: 400, code: VALIDATION });

// disputes
for (const [name, json] of [
  ['reason missing', {}], ['reason ""', { reason: '' }], ['reason of 2001 characters', { reason: big(2001) }], ['reason of 2001 emoji', { reason: '😀'.repeat(2001) }],
  ['reason 5', { reason: 5 }], ['reason null', { reason: null }], ['reason an object', { reason: { text: 'x' } }],
] as [string, unknown][])
  add('POST /api/rifts/{riftId}/disputes', { name, json, status: 400, code: VALIDATION });

// resolve
for (const [name, json] of [
  ['outcome missing', {}], ['outcome "DISMISS"', { outcome: 'DISMISS' }], ['outcome "refund"', { outcome: 'refund' }], ['outcome 5', { outcome: 5 }],
  ['outcome null', { outcome: null }], ['outcome with a zero-width space', { outcome: 'dismiss\u200b' }], ['outcome "dismiss " (trailing space)', { outcome: 'dismiss ' }],
] as [string, unknown][])
  add('POST /api/rifts/{riftId}/disputes/resolve', { name, json, status: 400, code: VALIDATION });
add('POST /api/rifts/{riftId}/disputes/resolve', { name: 'a valid body meets the business rule (409 after 400)', json: { outcome: 'dismiss' }, status: 409, code: 'no_open_dispute' });

// admin: run the monitor
for (const [name, json] of [
  ['force "yes"', { force: 'yes' }], ['force 1', { force: 1 }], ['thresholds []', { thresholds: [] }], ['thresholds lower-case currency', { thresholds: { usd: 5 } }],
  ['thresholds negative', { thresholds: { USD: -1 } }], ['thresholds a string', { thresholds: { USD: '5' } }], ['thresholds unknown currency', { thresholds: { XYZ: 5 } }],
  ['thresholds null', { thresholds: null }],
] as [string, unknown][])
  add('POST /api/admin/stripe-balance', { name, json, status: 400, code: VALIDATION });
add('POST /api/admin/stripe-balance', { name: 'thresholds with a "__proto__" currency', raw: '{"thresholds":{"__proto__":{"USD":1}}}', status: 400, code: VALIDATION });
add('POST /api/admin/stripe-balance', { name: 'thresholds Infinity (1e400)', raw: '{"thresholds":{"USD":1e400}}', status: 400, code: VALIDATION });

// admin: PUT thresholds
for (const [name, json] of [
  ['thresholds a string value', { thresholds: { USD: 'x' } }], ['thresholds lower-case', { thresholds: { usd: 1 } }], ['thresholds null', { thresholds: null }],
  ['thresholds an array', { thresholds: [1] }], ['an extra field', { thresholds: { USD: 1 }, extra: 1 }], ['thresholds with emoji currency', { thresholds: { '💵': 1 } }],
  ['thresholds with a zero-width currency', { thresholds: { 'U\u200bSD': 1 } }],
] as [string, unknown][])
  add('PUT /api/admin/thresholds', { name, json, status: 400, code: VALIDATION });
add('PUT /api/admin/thresholds', { name: 'thresholds with a "__proto__" currency (would have stored {})', raw: '{"thresholds":{"__proto__":{"USD":1}}}', status: 400, code: VALIDATION });
add('PUT /api/admin/thresholds', { name: 'a bare map with a "__proto__" currency', raw: '{"__proto__":{"USD":1}}', status: 400, code: VALIDATION });
add('PUT /api/admin/thresholds', { name: 'a bare map with a "constructor" currency', raw: '{"constructor":{"USD":1}}', status: 400, code: VALIDATION });
add('PUT /api/admin/thresholds', { name: 'thresholds Infinity (1e400)', raw: '{"thresholds":{"USD":1e400}}', status: 400, code: VALIDATION });

// The webhook: a raw body verified by signature (content-type does not matter).
const WH = 'POST /api/webhooks/stripe';
add(WH, { name: 'no stripe-signature', raw: () => JSON.stringify(stripeEvent('customer.created', { id: 'cus_1' })), status: 400, code: 'invalid_signature' });
add(WH, { name: 'malformed JSON, unsigned', raw: '{', status: 400, code: 'invalid_signature' });
add(WH, {
  name: 'a signed body that is not JSON',
  raw: '{not json',
  headers: () => ({ 'stripe-signature': signWebhook('{not json') }),
  status: 400,
  code: ['invalid_json', 'invalid_signature'],
});
add(WH, { name: 'an empty body', raw: '', status: 400, code: 'invalid_signature' });
add(WH, { name: 'a body of 64 KiB + 1 byte', raw: () => rawWith(stripeEvent('customer.created', { id: 'cus_1' }), 'pad', JSON.stringify(big(65_537))), status: 413, code: 'payload_too_large' });
add(WH, {
  name: 'signed with another secret',
  raw: () => '{"id":"evt_x","object":"event","type":"customer.created","data":{"object":{}}}',
  headers: () => ({ 'stripe-signature': signWebhook('{"id":"evt_x","object":"event","type":"customer.created","data":{"object":{}}}', { secret: 'whsec_other' }) }),
  status: 400,
  code: 'invalid_signature',
});

// Odd path parameters: every rift route, a valid body, a caller with the right.
const RIFT_ROUTES = ROUTES.filter((r) => r.path.includes('{riftId}'));
const ODD_RIFT_IDS = ['..%2F', '..%2F..%2Fadmin', `rift_${'a'.repeat(2000)}`, 'rift_%C3%A9t%C3%A9', '%F0%9F%92%A9', 'rift_%00', 'rift_%E2%80%8B', 'RIFT_ABC', 'rift_abc%20', '%2F%2F', '%252F'];
const ODD_INDEXES = ['abc', '-1', '1e3', '01', '99', '2', '1.5', '%20', '0x0', '+1', '%2D1', '00', '1%00', `${'9'.repeat(30)}`, '%E2%93%AA'];

afterAll(async () => {
  await stack?.stop();
});

beforeAll(async () => {
  stack = await startStack('badinput');
  api = stack.apiUrl;
  tokens = await mintTokens();
  funded = (await fundedRift(api, tokens.buyer!, [10_000, 20_000])).riftId;
  unfunded = await createRift(api, tokens.buyer!, [10_000]);
  await settleWebhooks(stack.stripeUrl);
  before = await dumpTable(stack.tableName);
});

let before: DumpItem[];

describe('bad input leaves the table unchanged', () => {
  it('covers every POST/PUT route', () => {
    const writes = ROUTES.filter((r) => r.method === 'POST' || r.method === 'PUT').map(routeKey).sort();
    expect(Object.keys(ROUTE_SETUP).sort()).toEqual(writes);
    for (const w of writes) expect(cases.filter((c) => c.route === w).length, w).toBeGreaterThan(0);
  });

  it.each(cases.map((c) => [`${c.route} — ${c.name}`, c] as const))('%s', async (_n, c) => {
    const s = ROUTE_SETUP[c.route]!;
    const raw = typeof c.raw === 'function' ? c.raw() : c.raw;
    const headers = typeof c.headers === 'function' ? c.headers() : c.headers;
    const res = await call(api, c.route.split(' ')[0]!, (c.path ?? s.path)(), {
      token: tokens[c.as ?? s.as],
      ...(raw !== undefined ? { raw } : { json: c.json }),
      headers,
    });
    expect(res.status, res.text.slice(0, 300)).toBe(c.status);
    expectErrorShape(res, c.code);
    if (c.code === VALIDATION && res.body.error.details) {
      expect(Array.isArray(res.body.error.details.issues)).toBe(true);
      for (const i of res.body.error.details.issues) expect(typeof i.path === 'string' && typeof i.message === 'string').toBe(true);
    }
    // A big body is never echoed back.
    expect(res.text.length).toBeLessThan(8_000);
  });

  describe.each(RIFT_ROUTES.map((r) => [routeKey(r), r] as const))('%s: odd riftId', (_k, r) => {
    it.each(ODD_RIFT_IDS)('riftId %s → 404 rift_not_found', async (id) => {
      const key = routeKey(r);
      const setup = ROUTE_SETUP[key];
      const path = r.path.replace('{riftId}', id).replace('{index}', '0');
      // No Idempotency-Key on the refund: 404 comes before 400 idempotency_key_required.
      const res = await call(api, r.method, path, { token: tokens[setup?.as ?? 'buyer'], json: setup?.valid() });
      expect(res.status, res.text.slice(0, 300)).toBe(404);
      expectErrorShape(res, 'rift_not_found');
    });
  });

  it.each(ODD_INDEXES)('milestone index %s → 404 milestone_not_found', async (index) => {
    const res = await call(api, 'POST', `/api/rifts/${funded}/milestones/${index}/release`, { token: tokens.buyer, json: {} });
    expect(res.status, res.text.slice(0, 300)).toBe(404);
    expectErrorShape(res, 'milestone_not_found');
  });

  describe('the order of checks: 401 → 404 → 403 → 404 milestone → 400/413 → 409', () => {
    const ORDER: { name: string; as: Principal; method: string; path: () => string; raw?: string; json?: unknown; headers?: Record<string, string>; status: number; code: string }[] = [
      { name: 'no token + malformed JSON → 401', as: 'none', method: 'POST', path: () => `/api/rifts/${funded}/refunds`, raw: '{', status: 401, code: 'unauthorized' },
      { name: 'expired token + oversized body → 401', as: 'expired', method: 'POST', path: () => '/api/rifts', raw: big(70_000), status: 401, code: 'unauthorized' },
      { name: 'stranger + malformed JSON → 404', as: 'stranger', method: 'POST', path: () => `/api/rifts/${funded}/refunds`, raw: '{', status: 404, code: 'rift_not_found' },
      { name: 'stranger + bad body on release → 404', as: 'stranger', method: 'POST', path: () => `/api/rifts/${funded}/milestones/abc/release`, json: { x: 1 }, status: 404, code: 'rift_not_found' },
      { name: 'seller + malformed JSON on release → 403', as: 'seller', method: 'POST', path: () => `/api/rifts/${funded}/milestones/0/release`, raw: '{', status: 403, code: 'forbidden' },
      { name: 'seller + bad index on release → 403', as: 'seller', method: 'POST', path: () => `/api/rifts/${funded}/milestones/abc/release`, json: {}, status: 403, code: 'forbidden' },
      { name: 'admin + bad body on fund → 403', as: 'admin', method: 'POST', path: () => `/api/rifts/${unfunded}/fund`, json: { paymentMethodId: 5 }, status: 403, code: 'forbidden' },
      { name: 'buyer + bad body on refund → 403', as: 'buyer', method: 'POST', path: () => `/api/rifts/${funded}/refunds`, json: { amount: -1 }, status: 403, code: 'forbidden' },
      { name: 'admin + bad body on dispute → 403', as: 'admin', method: 'POST', path: () => `/api/rifts/${funded}/disputes`, json: {}, status: 403, code: 'forbidden' },
      { name: 'buyer + bad index + malformed JSON → 404 milestone', as: 'buyer', method: 'POST', path: () => `/api/rifts/${funded}/milestones/abc/release`, raw: '{', status: 404, code: 'milestone_not_found' },
      { name: 'buyer + bad body on an unfunded rift → 400 before 409', as: 'buyer', method: 'POST', path: () => `/api/rifts/${unfunded}/milestones/0/release`, json: { x: 1 }, status: 400, code: VALIDATION },
      { name: 'seller + bad amount on an unfunded rift → 400 before 409', as: 'seller', method: 'POST', path: () => `/api/rifts/${unfunded}/refunds`, json: { amount: 0 }, status: 400, code: VALIDATION },
      { name: 'buyer + bad body on an unfunded rift dispute → 400 before 409', as: 'buyer', method: 'POST', path: () => `/api/rifts/${unfunded}/disputes`, json: { reason: '' }, status: 400, code: VALIDATION },
      { name: 'seller refund on an unfunded rift without a key → 400 before 409', as: 'seller', method: 'POST', path: () => `/api/rifts/${unfunded}/refunds`, json: {}, status: 400, code: 'idempotency_key_required' },
      { name: 'buyer + oversized body on an unfunded rift → 413 before 409', as: 'buyer', method: 'POST', path: () => `/api/rifts/${unfunded}/milestones/0/release`, raw: rawWith({}, 'pad', JSON.stringify(big(70_000))), status: 413, code: 'payload_too_large' },
    ];
    it.each(ORDER.map((o) => [o.name, o] as const))('%s', async (_n, o) => {
      const res = await call(api, o.method, o.path(), { token: tokens[o.as], ...(o.raw !== undefined ? { raw: o.raw } : { json: o.json }), headers: o.headers });
      expect(res.status, res.text.slice(0, 300)).toBe(o.status);
      expectErrorShape(res, o.code);
    });

    // The contract puts 404/403 before 413: API Gateway (and its local emulation) passes bodies up to
    // 10 MB to the Lambda, whose lazy body read keeps that order.
    it('stranger + oversized body → 404 rift_not_found', async () => {
      const res = await call(api, 'POST', `/api/rifts/${funded}/refunds`, { token: tokens.stranger, raw: big(70_000) });
      expect(res.status).toBe(404);
    });
  });

  it('the table is exactly as before the batch (full Scan dump)', async () => {
    await settleWebhooks(stack.stripeUrl);
    const after = await dumpTable(stack.tableName);
    expect(after.length).toBe(before.length);
    expect(after).toEqual(before);
  });

  it('no prototype was polluted by a "__proto__" body', () => {
    const o = {} as Record<string, unknown>;
    expect(o.isAdmin).toBeUndefined();
    expect(o.polluted).toBeUndefined();
    expect(o.status).toBeUndefined();
  });
});

describe('valid boundary and unusual input (changes the table by design)', () => {
  it('a milestone of 99,999,999 is accepted; 100,000,000 is not', async () => {
    const ok = await call(api, 'POST', '/api/rifts', { token: tokens.buyer, json: createBody([99_999_999]) });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.amounts.total).toBe(99_999_999);
    const no = await call(api, 'POST', '/api/rifts', { token: tokens.buyer, json: createBody([100_000_000]) });
    expect(no.status).toBe(400);
    expectErrorShape(no, VALIDATION);
    expect(no.body.error.details.issues.some((i: { path: string }) => i.path.startsWith('milestones'))).toBe(true);
  });

  it('amount 1 and 50 milestones are accepted; titles of 200 characters too', async () => {
    const body = { ...createBody(Array.from({ length: 50 }, () => 1)), title: big(200) };
    const ok = await call(api, 'POST', '/api/rifts', { token: tokens.buyer, json: body });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.milestones).toHaveLength(50);
    expect(ok.body.title).toBe(big(200));
  });

  it('a refund of 99,999,999 (with a key) passes validation and meets refund_exceeds_held', async () => {
    const res = await call(api, 'POST', `/api/rifts/${funded}/refunds`, { token: tokens.seller, json: { amount: 99_999_999 }, headers: { 'idempotency-key': newId('k') } });
    expect(res.status).toBe(409);
    expectErrorShape(res, 'refund_exceeds_held');
    expect(res.body.error.details.held).toBe(30_000);
  });

  it.each([
    ['emoji', 'Shipping 🚀📦 done ✅'],
    ['RTL text and an RTL override', 'تصميم الموقع \u202eabc\u202c'],
    ['zero-width characters', 'a\u200bb\u200cc\u200dd\ufeffe'],
    ['combining marks', 'Zalgo Z̷̢̛a̶̡l̵g̸o̴'],
    ['NUL and control characters', 'a\u0000b\u0001c\u001fd'],
    ['astral CJK', '𠜎𠜱𠝹'],
  ])('a title with %s is stored and returned exactly', async (_n, title) => {
    const res = await call(api, 'POST', '/api/rifts', { token: tokens.buyer, json: { ...createBody(), title } });
    expect(res.status, res.text).toBe(201);
    expect(res.body.title).toBe(title.trim());
    const read = await call(api, 'GET', `/api/rifts/${res.body.riftId}`, { token: tokens.buyer });
    expect(read.body.title).toBe(title.trim());
  });

  it.each([
    ['a lone high surrogate', '"a\\ud800b"'],
    ['a lone low surrogate', '"\\udc00"'],
  ])('a title with %s (escaped in JSON) is 400 validation_error: DynamoDB stores UTF-8 only', async (_n, literal) => {
    const raw = JSON.stringify(createBody()).replace('"title":"Matrix rift"', `"title":${literal}`);
    const res = await call(api, 'POST', '/api/rifts', { token: tokens.buyer, raw });
    expect(res.status, res.text).toBe(400);
    expectErrorShape(res, VALIDATION);
  });

  it('lengths count characters, not UTF-16 code units: a reason of 2000 emoji is accepted', async () => {
    const a = await fundedRift(api, tokens.buyer!);
    const res = await call(api, 'POST', `/api/rifts/${a.riftId}/disputes`, { token: tokens.seller, json: { reason: '😀'.repeat(2000) } });
    expect(res.status, res.text.slice(0, 200)).toBe(201);
    expect(res.body.dispute.reason).toBe('😀'.repeat(2000));
  });

  it('a dispute reason of 2000 characters is accepted, and of emoji/RTL', async () => {
    const a = await fundedRift(api, tokens.buyer!);
    const res = await call(api, 'POST', `/api/rifts/${a.riftId}/disputes`, { token: tokens.buyer, json: { reason: `${'ب'.repeat(1990)}🚀\u200b🚀\u0000x` } });
    expect(res.status, res.text).toBe(201);
    expect(res.body.dispute.reason).toBe(`${'ب'.repeat(1990)}🚀\u200b🚀\u0000x`);
  });

  it('sanity: the postWebhook helper signs correctly', async () => {
    const res = await postWebhook(api, stripeEvent('customer.created', { id: 'cus_ok' }));
    expect(res.status).toBe(200);
  });
});
