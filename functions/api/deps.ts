/** The composition root of the escrow handlers: real adapters wired to the core's ports, once per cold start. */
import { loadConfig, type Config } from '../adapters/config';
import { dynamoClient } from '../adapters/dynamo-client';
import { createRiftStore } from '../adapters/rift-store';
import { createStripeGateway } from '../adapters/stripe-gateway';
import { systemClock, systemIds } from '../adapters/ids';
import { consumeCrash } from '../adapters/faults';
import { checkBalanceForTransfer } from '../scheduled/balance-service';
import { RiftError } from '../core/errors';
import { PaymentProviderError } from '../core/payment-port';
import type { BalanceCheck, EscrowDeps } from '../core/escrow';

export type Deps = EscrowDeps & { checkBalance: BalanceCheck };

/** A request holds a pending intent a little longer than the function's 29 s timeout. */
export const LEASE_MS = 35_000;

let cached: { key: string; deps: Deps } | undefined;

export function escrowDeps(config: Config = loadConfig()): Deps {
  const key = `${config.tableName}|${config.dynamodbEndpoint}|${config.stripe.host}|${config.stripe.port}|${config.stripe.timeoutMs}`;
  if (cached?.key === key) return cached.deps;
  const gateway = createStripeGateway(config);
  const deps: Deps = {
    store: createRiftStore(dynamoClient(config), config.tableName),
    gateway,
    clock: systemClock,
    ids: systemIds,
    leaseMs: LEASE_MS,
    crashAfterStripe: consumeCrash,
    checkBalance: async (currency, amount) => {
      try {
        return await checkBalanceForTransfer(gateway, currency, amount);
      } catch (e) {
        if (e instanceof PaymentProviderError) throw new RiftError('payment_provider_error', 'could not read the platform balance from the payment provider');
        throw e;
      }
    },
  };
  cached = { key, deps };
  return deps;
}
