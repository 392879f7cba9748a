/**
 * In-process counters, attributed to the operation that caused them with AsyncLocalStorage:
 * - DynamoDB: an AWS SDK middleware on the shared client (`baseDynamoClient`, which the document
 *   client and Powertools Idempotency share) counts every `send` per command, injects
 *   `ReturnConsumedCapacity: 'TOTAL'` and sums the ConsumedCapacity the answer reports;
 * - Stripe: an `on('request')` listener on the shared Stripe client (one event per HTTP attempt);
 * - SES: a middleware on the shared SES client.
 * Calls made outside any `measure()` scope (e.g. the Stripe webhook the emulator sends after a
 * payment, which arrives through the local API) are counted under `unattributed`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type Stripe from 'stripe';

export interface Counts {
  dynamo: number;
  dynamoByCommand: Record<string, number>;
  rcu: number;
  wcu: number;
  capacity: number;
  capacityReported: number;
  stripe: number;
  stripeCalls: string[];
  ses: number;
}

export const newCounts = (): Counts => ({ dynamo: 0, dynamoByCommand: {}, rcu: 0, wcu: 0, capacity: 0, capacityReported: 0, stripe: 0, stripeCalls: [], ses: 0 });

const als = new AsyncLocalStorage<Counts>();
export const unattributed: { counts: Counts } = { counts: newCounts() };
const current = () => als.getStore() ?? unattributed.counts;

export function measure<T>(counts: Counts, fn: () => Promise<T>): Promise<T> {
  return als.run(counts, fn);
}

const CAPACITY_COMMANDS = new Set([
  'GetItemCommand', 'PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'QueryCommand', 'ScanCommand',
  'BatchGetItemCommand', 'BatchWriteItemCommand', 'TransactGetItemsCommand', 'TransactWriteItemsCommand',
]);

type Capacity = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number };

const MW_NAME = 'riftBenchCounter';

export function instrumentDynamo(client: DynamoDBClient): () => void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const counts = current();
      const name = context.commandName ?? 'unknown';
      counts.dynamo++;
      counts.dynamoByCommand[name] = (counts.dynamoByCommand[name] ?? 0) + 1;
      const input = args.input as Record<string, unknown>;
      if (CAPACITY_COMMANDS.has(name) && input.ReturnConsumedCapacity === undefined) input.ReturnConsumedCapacity = 'TOTAL';
      const add = (c: Capacity | Capacity[] | undefined) => {
        for (const x of Array.isArray(c) ? c : c ? [c] : []) {
          counts.capacityReported++;
          counts.capacity += x.CapacityUnits ?? 0;
          counts.rcu += x.ReadCapacityUnits ?? 0;
          counts.wcu += x.WriteCapacityUnits ?? 0;
        }
      };
      try {
        const out = await next(args);
        add((out.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity);
        return out;
      } catch (e) {
        // A cancelled transaction / failed condition still consumed capacity (reported on the error when present).
        add((e as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity);
        throw e;
      }
    },
    { step: 'initialize', name: MW_NAME, override: true },
  );
  return () => void client.middlewareStack.remove(MW_NAME);
}

export function instrumentSes(client: SESv2Client): () => void {
  client.middlewareStack.add(
    (next) => async (args) => {
      current().ses++;
      return next(args);
    },
    { step: 'initialize', name: MW_NAME, override: true },
  );
  return () => void client.middlewareStack.remove(MW_NAME);
}

export function instrumentStripe(stripe: Stripe): () => void {
  const onRequest = (e: { method: string; path: string }) => {
    const c = current();
    c.stripe++;
    c.stripeCalls.push(`${e.method} ${e.path.replace(/\?.*$/, '')}`);
  };
  stripe.on('request', onRequest);
  return () => void stripe.off('request', onRequest);
}
