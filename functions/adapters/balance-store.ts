/**
 * DynamoDB store for balance monitoring, in the single Rift table.
 *
 * Every item lives in one partition, `pk = "BALANCE"` (about 48 snapshots a day: far from any
 * partition limit), told apart by the sort key:
 *
 * | sk                                   | item                                         | TTL      |
 * |--------------------------------------|----------------------------------------------|----------|
 * | `THRESHOLDS`                         | stored thresholds `{ thresholds, updatedAt, updatedBy }` (major units) | none |
 * | `SNAPSHOT#<checkedAt ISO>#<runId>`   | one per monitor run (failed runs included)   | 90 days  |
 * | `ALERT#<createdAt ISO>#<alertId>`    | one per alerted currency per run, or one `check_failing` | 90 days |
 * | `STATE#<currency lower-case>`        | alert state: last level sent and when        | none     |
 * | `STATE#_check`                       | alert state of the "balance check failing" mail | none  |
 * | `CHECK`                              | health of the Stripe read: consecutive failures, failingSince | none |
 *
 * ISO timestamps sort lexically, so `begins_with(sk, "SNAPSHOT#")` read backwards is newest first.
 * `expiresAt` (epoch seconds) is the table's TTL attribute.
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { AlertLevel, AlertReason, AlertState, BalanceRow, Thresholds } from '../core/balance';

export const BALANCE_PK = 'BALANCE';
export const RETENTION_DAYS = 90;
const TTL_SECONDS = RETENTION_DAYS * 24 * 3600;
/** State key of the "balance check failing" mail (not a currency: currencies are 3 letters). */
export const CHECK_STATE_KEY = '_check';

export interface SnapshotRecord {
  snapshotId: string;
  checkedAt: string;
  /** false when Stripe's balance could not be read. */
  ok: boolean;
  trigger: 'schedule' | 'manual';
  /** Thresholds used by that run (major units). */
  thresholds: Thresholds;
  balances: BalanceRow[];
  error?: string;
}

export type AlertStatus = 'unsent' | 'sent' | 'superseded';

export interface AlertRecord {
  alertId: string;
  runId: string;
  kind: 'balance_low' | 'check_failing';
  /** Lower-case currency; null for `check_failing`. */
  currency: string | null;
  level: AlertLevel;
  reason: AlertReason | 'check_failing';
  available?: number;
  pending?: number;
  threshold?: number;
  createdAt: string;
  /** `unsent` until SES accepted the mail; `superseded`: never sent, the condition went away. */
  status: AlertStatus;
  sent: boolean;
  subject: string;
  to: string;
  sentAt?: string;
  messageId?: string;
  /** The later run whose mail delivered this alert (after an SES failure). */
  deliveredByRun?: string;
  error?: string;
}

export interface CheckHealth {
  consecutiveFailures: number;
  failingSince?: string;
  lastError?: string;
  lastFailureAt?: string;
  lastSuccessAt?: string;
}

export interface StoredAlertState extends AlertState {
  runId?: string;
}

export interface BalanceStore {
  getThresholds(): Promise<Thresholds | null>;
  putThresholds(thresholds: Thresholds, p: { updatedAt: string; updatedBy: string }): Promise<void>;
  putSnapshot(s: SnapshotRecord): Promise<void>;
  /** Newest first. */
  listSnapshots(limit: number): Promise<SnapshotRecord[]>;
  putAlerts(alerts: readonly AlertRecord[]): Promise<void>;
  updateAlerts(alerts: readonly AlertRecord[], patch: Partial<Pick<AlertRecord, 'status' | 'sent' | 'sentAt' | 'messageId' | 'deliveredByRun' | 'error'>>): Promise<void>;
  /** Newest first. */
  listAlerts(limit: number): Promise<AlertRecord[]>;
  /** Alerts still `unsent` created after `since` (ISO), newest first. */
  listUndeliveredAlerts(since: string): Promise<AlertRecord[]>;
  /** Alert state per key (lower-case currency, or `_check`). */
  getAlertStates(): Promise<Record<string, StoredAlertState>>;
  /**
   * Sets the state to `next` only if it is still `prev` (compare-and-set on `sentAt`), so two
   * concurrent runs never both mail the same currency. False when another run got there first.
   */
  claimAlertState(key: string, prev: StoredAlertState | undefined, next: StoredAlertState): Promise<boolean>;
  /** Puts back `prev` after a failed send, only if the state is still the one this run claimed. */
  restoreAlertState(key: string, claimed: StoredAlertState, prev: AlertState | undefined): Promise<void>;
  getCheckHealth(): Promise<CheckHealth>;
  /** Atomically counts one more failed read; returns the new health. */
  recordCheckFailure(error: string, at: string): Promise<CheckHealth>;
  recordCheckSuccess(at: string): Promise<void>;
}

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const alertSk = (a: Pick<AlertRecord, 'createdAt' | 'alertId'>) => `ALERT#${a.createdAt}#${a.alertId}`;
const isConditionalFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

/** Strips the key and TTL attributes off an item. */
function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, expiresAt: _ttl, ...rest } = item;
  return rest as T;
}

export function createBalanceStore(doc: DynamoDBDocumentClient, tableName: string): BalanceStore {
  const TableName = tableName;

  async function queryPrefix(prefix: string, limit: number, opts: { after?: string; filterUnsent?: boolean } = {}): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const out = await doc.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: opts.after ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: {
            ':pk': BALANCE_PK,
            ...(opts.after ? { ':from': `${prefix}${opts.after}`, ':to': `${prefix}\uffff` } : { ':prefix': prefix }),
            ...(opts.filterUnsent ? { ':unsent': 'unsent' } : {}),
          },
          ...(opts.filterUnsent ? { FilterExpression: '#status = :unsent', ExpressionAttributeNames: { '#status': 'status' } } : {}),
          ScanIndexForward: false,
          Limit: Math.min(limit - items.length, 500),
          ExclusiveStartKey,
        }),
      );
      items.push(...((out.Items ?? []) as Record<string, unknown>[]));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey && items.length < limit);
    return items.slice(0, limit);
  }

  return {
    async getThresholds() {
      const out = await doc.send(new GetCommand({ TableName, Key: { pk: BALANCE_PK, sk: 'THRESHOLDS' }, ConsistentRead: true }));
      const t = out.Item?.thresholds as Thresholds | undefined;
      return t && typeof t === 'object' ? t : null;
    },

    async putThresholds(thresholds, p) {
      await doc.send(new PutCommand({ TableName, Item: { pk: BALANCE_PK, sk: 'THRESHOLDS', thresholds, updatedAt: p.updatedAt, updatedBy: p.updatedBy } }));
    },

    async putSnapshot(s) {
      await doc.send(
        new PutCommand({
          TableName,
          Item: { pk: BALANCE_PK, sk: `SNAPSHOT#${s.checkedAt}#${s.snapshotId}`, ...s, expiresAt: epochSeconds(s.checkedAt) + TTL_SECONDS },
        }),
      );
    },

    async listSnapshots(limit) {
      return (await queryPrefix('SNAPSHOT#', limit)).map((i) => strip<SnapshotRecord>(i));
    },

    async putAlerts(alerts) {
      // Few items per run (one per currency): individual puts keep the error path simple.
      for (const a of alerts) {
        await doc.send(new PutCommand({ TableName, Item: { pk: BALANCE_PK, sk: alertSk(a), ...a, expiresAt: epochSeconds(a.createdAt) + TTL_SECONDS } }));
      }
    },

    async updateAlerts(alerts, patch) {
      const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
      if (entries.length === 0) return;
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      const sets = entries.map(([k, v], i) => {
        names[`#a${i}`] = k;
        values[`:v${i}`] = v;
        return `#a${i} = :v${i}`;
      });
      for (const a of alerts) {
        await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: BALANCE_PK, sk: alertSk(a) },
            UpdateExpression: `SET ${sets.join(', ')}`,
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
      }
    },

    async listAlerts(limit) {
      return (await queryPrefix('ALERT#', limit)).map((i) => strip<AlertRecord>(i));
    },

    async listUndeliveredAlerts(since) {
      return (await queryPrefix('ALERT#', 200, { after: since, filterUnsent: true })).map((i) => strip<AlertRecord>(i));
    },

    async getAlertStates() {
      const items = await queryPrefix('STATE#', 1000);
      const out: Record<string, StoredAlertState> = {};
      for (const i of items) {
        const key = String(i.sk).slice('STATE#'.length);
        out[key] = { level: i.level as AlertLevel, sentAt: String(i.sentAt), ...(i.runId ? { runId: String(i.runId) } : {}) };
      }
      return out;
    },

    async claimAlertState(key, prev, next) {
      try {
        await doc.send(
          new PutCommand({
            TableName,
            Item: { pk: BALANCE_PK, sk: `STATE#${key}`, ...next },
            // The state this run saw, exactly: its time and the run that wrote it (two runs in the
            // same millisecond write the same sentAt, so the time alone cannot tell them apart).
            ...(prev
              ? prev.runId
                ? { ConditionExpression: 'sentAt = :prev AND runId = :prevRun', ExpressionAttributeValues: { ':prev': prev.sentAt, ':prevRun': prev.runId } }
                : { ConditionExpression: 'sentAt = :prev AND attribute_not_exists(runId)', ExpressionAttributeValues: { ':prev': prev.sentAt } }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
        return true;
      } catch (e) {
        if (isConditionalFailure(e)) return false;
        throw e;
      }
    },

    async restoreAlertState(key, claimed, prev) {
      const cond = {
        ConditionExpression: 'sentAt = :claimed AND runId = :run',
        ExpressionAttributeValues: { ':claimed': claimed.sentAt, ':run': claimed.runId ?? '' },
      };
      try {
        if (prev) {
          await doc.send(new PutCommand({ TableName, Item: { pk: BALANCE_PK, sk: `STATE#${key}`, level: prev.level, sentAt: prev.sentAt }, ...cond }));
        } else {
          await doc.send(new DeleteCommand({ TableName, Key: { pk: BALANCE_PK, sk: `STATE#${key}` }, ...cond }));
        }
      } catch (e) {
        if (!isConditionalFailure(e)) throw e; // another run has moved it on: leave theirs
      }
    },

    async getCheckHealth() {
      const out = await doc.send(new GetCommand({ TableName, Key: { pk: BALANCE_PK, sk: 'CHECK' }, ConsistentRead: true }));
      return out.Item ? strip<CheckHealth>(out.Item) : { consecutiveFailures: 0 };
    },

    async recordCheckFailure(error, at) {
      const out = await doc.send(
        new UpdateCommand({
          TableName,
          Key: { pk: BALANCE_PK, sk: 'CHECK' },
          UpdateExpression: 'ADD consecutiveFailures :one SET lastError = :e, lastFailureAt = :at, failingSince = if_not_exists(failingSince, :at)',
          ExpressionAttributeValues: { ':one': 1, ':e': error.slice(0, 1000), ':at': at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<CheckHealth>(out.Attributes ?? { consecutiveFailures: 1, failingSince: at, lastError: error, lastFailureAt: at });
    },

    async recordCheckSuccess(at) {
      await doc.send(
        new UpdateCommand({
          TableName,
          Key: { pk: BALANCE_PK, sk: 'CHECK' },
          UpdateExpression: 'SET consecutiveFailures = :zero, lastSuccessAt = :at REMOVE failingSince',
          ExpressionAttributeValues: { ':zero': 0, ':at': at },
        }),
      );
    },
  };
}
