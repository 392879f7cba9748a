import { invalidRequest, missing } from '../errors';
import { newId, nowSeconds } from '../ids';
import { amount, currency, metadata, str } from '../params';
import type { Transfer } from '../store';
import { list, type Ctx, type Route } from './context';

/** Destination checks first (Stripe validates the account before the balance), then `available`. */
function create(ctx: Ctx): Transfer {
  const { params, store } = ctx;
  const amt = amount(params, 'amount', true)!;
  const cur = currency(params);
  const destination = str(params, 'destination', true);
  if (!destination.startsWith('acct_')) throw invalidRequest('resource_missing', `No such destination: '${destination}'`, 'destination');
  if (store.accounts.get(destination)?.emulator_invalid) {
    throw invalidRequest(
      'account_invalid',
      `The destination account '${destination}' cannot receive transfers: it is not enabled for payouts (created invalid in the emulator).`,
      'destination',
    );
  }
  const balance = store.balance(cur);
  if (balance.available < amt) {
    throw invalidRequest(
      'balance_insufficient',
      'You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance',
    );
  }
  const id = newId('tr');
  const transfer: Transfer = {
    id,
    object: 'transfer',
    amount: amt,
    amount_reversed: 0,
    balance_transaction: newId('txn'),
    created: nowSeconds(),
    currency: cur,
    description: str(params, 'description') ?? null,
    destination,
    destination_payment: newId('py'),
    livemode: false,
    metadata: metadata(params),
    reversals: { object: 'list', data: [], has_more: false, total_count: 0, url: `/v1/transfers/${id}/reversals` },
    reversed: false,
    source_transaction: str(params, 'source_transaction') ?? null,
    source_type: 'card',
    transfer_group: str(params, 'transfer_group') ?? null,
  };
  store.move(cur, -amt);
  store.transfers.set(id, transfer);
  return transfer;
}

export const transferRoutes: Route[] = [
  { method: 'POST', pattern: /^\/v1\/transfers$/, handler: create },
  {
    method: 'GET',
    pattern: /^\/v1\/transfers$/,
    handler: ({ store, params }) => {
      const group = str(params, 'transfer_group');
      const dest = str(params, 'destination');
      const items = [...store.transfers.values()].filter((t) => (!group || t.transfer_group === group) && (!dest || t.destination === dest));
      return list(items, params, '/v1/transfers');
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/transfers\/([^/]+)$/,
    handler: ({ store, path }) => {
      const t = store.transfers.get(path[0]!);
      if (!t) throw missing('transfer', path[0]!);
      return t;
    },
  },
];
