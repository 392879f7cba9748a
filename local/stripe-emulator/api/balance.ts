import type { Route } from './context';

export const balanceRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/balance$/,
    handler: ({ store }) => {
      const entries = [...store.balances.entries()];
      return {
        object: 'balance',
        available: entries.map(([currency, b]) => ({ amount: b.available, currency, source_types: { card: b.available } })),
        connect_reserved: entries.map(([currency]) => ({ amount: 0, currency })),
        livemode: false,
        pending: entries.map(([currency, b]) => ({ amount: b.pending, currency, source_types: { card: b.pending } })),
      };
    },
  },
];
