/**
 * The escrow store on DynamoDB (one table). Keys:
 *   RIFT#<id> / RIFT                 the rift (amounts, milestones, dispute, unreserved, version)
 *   RIFT#<id> / MEMBER#<userId>      one per party; GSI byUser: gsi1pk USER#<userId>, gsi1sk <createdAt>#<id>
 *   RIFT#<id> / RELEASE#<index>      the release intent: the unique constraint riftId#milestoneIndex
 *   RIFT#<id> / REFUND#<refundId>    a refund intent
 *   RIFT#<id> / EVENT#<sortable id>  the audit trail, appended in the same transaction as each change
 *   PI#<paymentIntentId> / PI        PaymentIntent -> rift (chargeback webhooks carry only the PI)
 *   STRIPE_EVENT#<evt id> / STRIPE_EVENT  a processed webhook event (TTL 30 days)
 * Pending intents carry gsi2pk = PENDING, gsi2sk = <createdAt>#<riftId>#<sk> (a sparse index for the
 * reconciler); completing or voiding removes them. Every money write is a conditional transaction:
 * never read-then-write.
 */
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TABLE_SCHEMA } from '../../lib/table-schema';
import type { Dispute, DisputeOutcome, RiftRecord } from '../core/rift';
import type { AuditEvent, FundInput, MoneyIntent, ReserveOutcome, RiftStore } from '../core/ports';

const riftKey = (riftId: string) => ({ pk: `RIFT#${riftId}`, sk: 'RIFT' });
const intentSk = (kind: MoneyIntent['kind'], key: string) => (kind === 'release' ? `RELEASE#${key}` : `REFUND#${key}`);
const intentKeyOf = (i: MoneyIntent) => (i.kind === 'release' ? String(i.milestoneIndex) : i.id);
const eventItem = (riftId: string, e: AuditEvent) => ({ pk: `RIFT#${riftId}`, sk: `EVENT#${e.eventId.replace(/^evt_/, '')}`, kind: 'event', ...e });
const STRIPE_EVENT_TTL_S = 30 * 24 * 3600;

const RIFT_ATTRS = new Set([
  'riftId', 'title', 'buyerId', 'sellerId', 'sellerAccountId', 'currency', 'milestones', 'total', 'funded', 'released', 'refunded', 'held',
  'unreserved', 'paymentIntentId', 'fundedByKey', 'fundingAttempt', 'dispute', 'disputeOpen', 'createdAt', 'updatedAt', 'version',
]);
function toRift(item: Record<string, unknown>): RiftRecord {
  const r: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (RIFT_ATTRS.has(k)) r[k] = v;
  r.dispute ??= null;
  return r as unknown as RiftRecord;
}
const INTENT_DROP = new Set(['pk', 'sk', 'gsi2pk', 'gsi2sk', 'entity']);
function toIntent(item: Record<string, unknown>): MoneyIntent {
  const r: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!INTENT_DROP.has(k)) r[k] = v;
  return r as unknown as MoneyIntent;
}
function toEvent(item: Record<string, unknown>): AuditEvent {
  const { pk: _pk, sk: _sk, kind: _kind, ...e } = item;
  return e as unknown as AuditEvent;
}

/** The item a cancelled transaction returned for its n-th action (ReturnValuesOnConditionCheckFailure). */
function cancelled(e: unknown): ({ code: string; item?: Record<string, unknown> } | undefined)[] | undefined {
  if (!(e instanceof TransactionCanceledException)) return undefined;
  return (e.CancellationReasons ?? []).map((r) =>
    r.Code && r.Code !== 'None' ? { code: r.Code, item: r.Item ? unmarshall(r.Item as never) : undefined } : undefined,
  );
}

export function createRiftStore(doc: DynamoDBDocumentClient, tableName: string): RiftStore {
  const T = tableName;
  const transact = (items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>) =>
    doc.send(new TransactWriteCommand({ TransactItems: items }));
  const processedEventPut = (stripeEventId: string, nowS: number) => ({
    Put: {
      TableName: T,
      Item: { pk: `STRIPE_EVENT#${stripeEventId}`, sk: 'STRIPE_EVENT', [TABLE_SCHEMA.ttlAttribute]: nowS + STRIPE_EVENT_TTL_S },
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    },
  });

  interface RiftUpdate {
    set: string[];
    names: Record<string, string>;
    values: Record<string, unknown>;
  }
  /**
   * Ends a pending intent (completed or failed) in one transaction with the rift's arithmetic and
   * its audit event; false when the intent was no longer pending at this attempt (someone else ended it).
   */
  const finish = async (
    intent: MoneyIntent,
    end: { status: 'completed' | 'failed'; setIntent?: string; values: Record<string, unknown> },
    rift: RiftUpdate,
    at: string,
    event: AuditEvent,
  ): Promise<boolean> => {
    const riftNames = rift.names;
    try {
      await transact([
        {
          Update: {
            TableName: T,
            Key: { pk: `RIFT#${intent.riftId}`, sk: intentSk(intent.kind, intentKeyOf(intent)) },
            ConditionExpression: '#s = :pending AND attempt = :attempt',
            UpdateExpression: `SET #s = :end, completedAt = :at, leaseUntil = :zero${end.setIntent ? `, ${end.setIntent}` : ''} REMOVE gsi2pk, gsi2sk`,
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':pending': 'pending', ':attempt': intent.attempt, ':end': end.status, ':at': at, ':zero': 0, ...end.values },
          },
        },
        {
          Update: {
            TableName: T,
            Key: riftKey(intent.riftId),
            UpdateExpression: `SET ${[...rift.set, 'updatedAt = :at', 'version = version + :one'].join(', ')}`,
            ...(Object.keys(riftNames).length ? { ExpressionAttributeNames: riftNames } : {}),
            ExpressionAttributeValues: { ':amount': intent.amount, ':at': at, ':one': 1, ...rift.values },
          },
        },
        { Put: { TableName: T, Item: eventItem(intent.riftId, event) } },
      ]);
      return true;
    } catch (e) {
      if (cancelled(e)) return false;
      throw e;
    }
  };

  /** A conditional update of a still-pending intent holding the lease `expected`; false when it no longer does. */
  const updateLease = async (intent: MoneyIntent, expected: number, update: string, values: Record<string, unknown>): Promise<boolean> => {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: T,
          Key: { pk: `RIFT#${intent.riftId}`, sk: intentSk(intent.kind, intentKeyOf(intent)) },
          ConditionExpression: '#s = :pending AND leaseUntil = :expected',
          UpdateExpression: update,
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending', ':expected': expected, ...values },
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  };

  const store: RiftStore = {
    async createRift(r, event) {
      const members = [...new Set([r.buyerId, r.sellerId])].map((userId) => ({
        Put: {
          TableName: T,
          Item: { pk: `RIFT#${r.riftId}`, sk: `MEMBER#${userId}`, gsi1pk: `USER#${userId}`, gsi1sk: `${r.createdAt}#${r.riftId}`, riftId: r.riftId },
        },
      }));
      await transact([
        { Put: { TableName: T, Item: { ...riftKey(r.riftId), entity: 'rift', ...r }, ConditionExpression: 'attribute_not_exists(pk)' } },
        ...members,
        { Put: { TableName: T, Item: eventItem(r.riftId, event) } },
      ]);
    },

    async getRift(riftId) {
      const out = await doc.send(new GetCommand({ TableName: T, Key: riftKey(riftId), ConsistentRead: true }));
      return out.Item ? toRift(out.Item) : undefined;
    },

    async listRiftsFor(userId) {
      const ids: string[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(
          new QueryCommand({
            TableName: T,
            IndexName: TABLE_SCHEMA.indexes.byUser.name,
            KeyConditionExpression: 'gsi1pk = :u',
            ExpressionAttributeValues: { ':u': `USER#${userId}` },
            ScanIndexForward: false,
            ExclusiveStartKey: start,
          }),
        );
        for (const it of out.Items ?? []) ids.push(it.riftId as string);
        start = out.LastEvaluatedKey;
      } while (start);
      const byId = new Map<string, RiftRecord>();
      for (let i = 0; i < ids.length; i += 100) {
        let keys: Record<string, unknown>[] | undefined = ids.slice(i, i + 100).map(riftKey);
        while (keys && keys.length) {
          const out = await doc.send(new BatchGetCommand({ RequestItems: { [T]: { Keys: keys } } }));
          for (const it of out.Responses?.[T] ?? []) byId.set(it.riftId as string, toRift(it));
          keys = out.UnprocessedKeys?.[T]?.Keys as Record<string, unknown>[] | undefined;
        }
      }
      return ids.map((id) => byId.get(id)).filter((r): r is RiftRecord => !!r);
    },

    async listEvents(riftId) {
      const events: AuditEvent[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(
          new QueryCommand({
            TableName: T,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ev)',
            ExpressionAttributeValues: { ':pk': `RIFT#${riftId}`, ':ev': 'EVENT#' },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const it of out.Items ?? []) events.push(toEvent(it));
        start = out.LastEvaluatedKey;
      } while (start);
      return events;
    },

    async fundRift(p: FundInput) {
      const nowS = Math.floor(Date.now() / 1000);
      try {
        await transact([
          {
            Update: {
              TableName: T,
              Key: riftKey(p.riftId),
              ConditionExpression: 'funded = :zero AND #total = :amount',
              UpdateExpression: `SET funded = :amount, held = :amount, unreserved = :amount, paymentIntentId = :pi, updatedAt = :at, version = version + :one${p.fundKey ? ', fundedByKey = :fk' : ''}`,
              ExpressionAttributeNames: { '#total': 'total' },
              ExpressionAttributeValues: { ':zero': 0, ':amount': p.amount, ':pi': p.paymentIntentId, ':at': p.event.at, ':one': 1, ...(p.fundKey ? { ':fk': p.fundKey } : {}) },
            },
          },
          { Put: { TableName: T, Item: { pk: `PI#${p.paymentIntentId}`, sk: 'PI', riftId: p.riftId } } },
          { Put: { TableName: T, Item: eventItem(p.riftId, p.event) } },
          ...(p.stripeEventId ? [processedEventPut(p.stripeEventId, nowS)] : []),
        ]);
        return { applied: true };
      } catch (e) {
        if (cancelled(e)) return { applied: false };
        throw e;
      }
    },

    async bumpFundingAttempt(riftId, from) {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: T,
            Key: riftKey(riftId),
            ConditionExpression: 'fundingAttempt = :from',
            UpdateExpression: 'SET fundingAttempt = :next',
            ExpressionAttributeValues: { ':from': from, ':next': from + 1 },
          }),
        );
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
      }
    },

    async riftIdForPaymentIntent(paymentIntentId) {
      const out = await doc.send(new GetCommand({ TableName: T, Key: { pk: `PI#${paymentIntentId}`, sk: 'PI' } }));
      return out.Item?.riftId as string | undefined;
    },

    async markStripeEventProcessed(stripeEventId) {
      try {
        await doc.send(new PutCommand(processedEventPut(stripeEventId, Math.floor(Date.now() / 1000)).Put));
        return true;
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) return false;
        throw e;
      }
    },

    async getIntent(kind, riftId, key) {
      const out = await doc.send(new GetCommand({ TableName: T, Key: { pk: `RIFT#${riftId}`, sk: intentSk(kind, key) }, ConsistentRead: true }));
      return out.Item ? toIntent(out.Item) : undefined;
    },

    async reserve(intent, event, opts): Promise<ReserveOutcome> {
      const sk = intentSk(intent.kind, intentKeyOf(intent));
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ':zero': 0, ':amount': intent.amount, ':at': event.at, ':one': 1 };
      let condition = 'funded > :zero AND unreserved >= :amount';
      let update = 'SET unreserved = unreserved - :amount, updatedAt = :at, version = version + :one';
      if (opts.checkDispute) {
        condition += ' AND disputeOpen = :false';
        values[':false'] = false;
      }
      if (intent.kind === 'release') {
        const i = intent.milestoneIndex!;
        names['#st'] = 'status';
        values[':pending'] = 'pending';
        values[':releasing'] = 'releasing';
        condition += ` AND milestones[${i}].#st = :pending`;
        update += `, milestones[${i}].#st = :releasing`;
      }
      const item = {
        pk: `RIFT#${intent.riftId}`,
        sk,
        entity: intent.kind,
        ...intent,
        gsi2pk: 'PENDING',
        gsi2sk: `${intent.createdAt}#${intent.riftId}#${sk}`,
      };
      const itemCondition =
        opts.previousAttempt !== undefined ? '#s = :failed AND attempt = :prev' : 'attribute_not_exists(pk)';
      try {
        await transact([
          {
            Update: {
              TableName: T,
              Key: riftKey(intent.riftId),
              ConditionExpression: condition,
              UpdateExpression: update,
              ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
              ExpressionAttributeValues: values,
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Put: {
              TableName: T,
              Item: item,
              ConditionExpression: itemCondition,
              ...(opts.previousAttempt !== undefined
                ? { ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':failed': 'failed', ':prev': opts.previousAttempt } }
                : {}),
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          { Put: { TableName: T, Item: eventItem(intent.riftId, event) } },
        ]);
        return { ok: true };
      } catch (e) {
        const reasons = cancelled(e);
        if (!reasons) throw e;
        const riftItem = reasons[0]?.item;
        const existing = reasons[1]?.item;
        return {
          ok: false,
          ...(riftItem ? { rift: toRift(riftItem) } : {}),
          ...(existing ? { existing: toIntent(existing) } : {}),
        };
      }
    },

    takeOver: (intent, leaseUntil) => updateLease(intent, intent.leaseUntil, 'SET leaseUntil = :new', { ':new': leaseUntil }),

    async complete(intent, stripeId, at, event) {
      const rift: RiftUpdate = { set: ['held = held - :amount'], names: {}, values: {} };
      if (intent.kind === 'release') {
        const i = intent.milestoneIndex!;
        rift.values[':sid'] = stripeId;
        rift.set.push('released = released + :amount', `milestones[${i}].#ms = :released`, `milestones[${i}].releasedAt = :at`, `milestones[${i}].transferId = :sid`);
        rift.names['#ms'] = 'status';
        rift.values[':released'] = 'released';
      } else {
        rift.set.push('refunded = refunded + :amount');
      }
      return finish(intent, { status: 'completed', setIntent: 'stripeId = :sid', values: { ':sid': stripeId } }, rift, at, event);
    },

    async voidIntent(intent, at, event) {
      const rift: RiftUpdate = { set: ['unreserved = unreserved + :amount'], names: {}, values: {} };
      if (intent.kind === 'release') {
        rift.set.push(`milestones[${intent.milestoneIndex!}].#ms = :pendingMilestone`);
        rift.names['#ms'] = 'status';
        rift.values[':pendingMilestone'] = 'pending';
      }
      return finish(intent, { status: 'failed', values: {} }, rift, at, event);
    },

    async endLease(intent) {
      // Free for a takeover now, but a request this holder sent may land until its lease would have ended.
      await updateLease(intent, intent.leaseUntil, 'SET leaseUntil = :zero, settleAfter = :expected', { ':zero': 0 });
    },

    async listPendingIntents(before, limit) {
      const out = await doc.send(
        new QueryCommand({
          TableName: T,
          IndexName: TABLE_SCHEMA.indexes.pending.name,
          KeyConditionExpression: 'gsi2pk = :p AND gsi2sk < :before',
          ExpressionAttributeValues: { ':p': 'PENDING', ':before': before },
          Limit: limit,
        }),
      );
      return (out.Items ?? []).map(toIntent);
    },

    async openDispute(riftId, dispute: Dispute, event, stripeEventId) {
      const nowS = Math.floor(Date.now() / 1000);
      try {
        await transact([
          {
            Update: {
              TableName: T,
              Key: riftKey(riftId),
              ConditionExpression: 'funded > :zero AND held > :zero AND disputeOpen = :false',
              UpdateExpression: 'SET disputeOpen = :true, dispute = :d, updatedAt = :at, version = version + :one',
              ExpressionAttributeValues: { ':zero': 0, ':false': false, ':true': true, ':d': dispute, ':at': event.at, ':one': 1 },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          { Put: { TableName: T, Item: eventItem(riftId, event) } },
          ...(stripeEventId ? [processedEventPut(stripeEventId, nowS)] : []),
        ]);
        return { ok: true };
      } catch (e) {
        const reasons = cancelled(e);
        if (!reasons) throw e;
        const riftItem = reasons[0]?.item;
        return { ok: false, ...(riftItem ? { rift: toRift(riftItem) } : {}), ...(stripeEventId && reasons[2] ? { duplicateEvent: true } : {}) };
      }
    },

    async recordEvent(riftId, event, stripeEventId) {
      const nowS = Math.floor(Date.now() / 1000);
      try {
        await transact([{ Put: { TableName: T, Item: eventItem(riftId, event) } }, ...(stripeEventId ? [processedEventPut(stripeEventId, nowS)] : [])]);
        return true;
      } catch (e) {
        if (cancelled(e)) return false;
        throw e;
      }
    },

    async resolveDispute(riftId, disputeId, outcome: DisputeOutcome, at, event) {
      try {
        await transact([
          {
            Update: {
              TableName: T,
              Key: riftKey(riftId),
              ConditionExpression: 'disputeOpen = :true AND dispute.disputeId = :id',
              UpdateExpression: 'SET disputeOpen = :false, dispute.#s = :resolved, dispute.outcome = :o, dispute.resolvedAt = :at, updatedAt = :at, version = version + :one',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':true': true, ':false': false, ':id': disputeId, ':resolved': 'resolved', ':o': outcome, ':at': at, ':one': 1 },
            },
          },
          { Put: { TableName: T, Item: eventItem(riftId, event) } },
        ]);
        return true;
      } catch (e) {
        if (cancelled(e)) return false;
        throw e;
      }
    },
  };
  return store;
}
