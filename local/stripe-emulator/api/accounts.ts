import { missing } from '../errors';
import { newId, nowSeconds } from '../ids';
import { metadata, str } from '../params';
import type { Account, Metadata, Store } from '../store';
import { list, type Ctx, type Route } from './context';

/**
 * Connected accounts. `metadata[invalid]=true` (on create or update) makes an account that
 * cannot receive transfers (`account_invalid`). Any other `acct_…` id, even never created, is a
 * valid account: GET creates it on first sight so tests can use ids like `acct_seller_1`.
 */
type Fields = Partial<Pick<Account, 'type' | 'country' | 'email' | 'business_type' | 'created'>>;

function build(id: string, meta: Metadata, fields: Fields): Account {
  const invalid = meta.invalid === 'true';
  return {
    business_type: null,
    country: 'US',
    created: nowSeconds(),
    default_currency: 'usd',
    email: null,
    livemode: false,
    type: 'express',
    ...fields,
    id,
    object: 'account',
    capabilities: { card_payments: invalid ? 'inactive' : 'active', transfers: invalid ? 'inactive' : 'active' },
    charges_enabled: !invalid,
    details_submitted: !invalid,
    metadata: meta,
    payouts_enabled: !invalid,
    requirements: { currently_due: [], disabled_reason: invalid ? 'rejected.other' : null },
    emulator_invalid: invalid,
  };
}

function fieldsFrom(params: Ctx['params']): Fields {
  const fields: Fields = {};
  for (const k of ['type', 'country', 'email', 'business_type'] as const) {
    const v = str(params, k);
    if (v !== undefined) fields[k] = k === 'country' ? v.toUpperCase() : v;
  }
  return fields;
}

function getOrAdopt(store: Store, id: string): Account {
  let acct = store.accounts.get(id);
  if (!acct) {
    if (!id.startsWith('acct_')) throw missing('account', id, undefined);
    acct = build(id, {}, {});
    store.accounts.set(id, acct);
  }
  return acct;
}

function create({ params, store }: Ctx): Account {
  const acct = build(newId('acct', 16), metadata(params), fieldsFrom(params));
  store.accounts.set(acct.id, acct);
  return acct;
}

function update({ params, store, path }: Ctx): Account {
  const old = getOrAdopt(store, path[0]!);
  const meta: Metadata = { ...old.metadata, ...metadata(params) };
  // Stripe unsets a metadata key sent empty.
  const raw = params.metadata;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) for (const [k, v] of Object.entries(raw)) if (v === '') delete meta[k];
  const { type, country, email, business_type, created } = old as Fields;
  const acct = build(old.id, meta, { type, country, email, business_type, created, ...fieldsFrom(params) });
  store.accounts.set(acct.id, acct);
  return acct;
}

export const accountRoutes: Route[] = [
  { method: 'POST', pattern: /^\/v1\/accounts$/, handler: create },
  { method: 'GET', pattern: /^\/v1\/accounts$/, handler: ({ store, params }) => list(store.accounts.values(), params, '/v1/accounts') },
  { method: 'GET', pattern: /^\/v1\/accounts\/([^/]+)$/, handler: ({ store, path }) => getOrAdopt(store, path[0]!) },
  { method: 'POST', pattern: /^\/v1\/accounts\/([^/]+)$/, handler: update },
];
