import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { TABLE_SCHEMA } from '../../lib/table-schema';
import { RiftError } from '../core/errors';
import type { Config } from '../adapters/config';
import { baseDynamoClient } from '../adapters/dynamo-client';

/**
 * `Idempotency-Key` on POSTs, with Powertools Idempotency on the shared table:
 * - the key is scoped to the caller, the method and the concrete path;
 * - the payload hash is over the canonical parsed body, so the same key with another body is a 422;
 * - the saved value is the whole HTTP answer (status, headers with x-request-id, body): a replay is
 *   the first answer exactly, plus `idempotent-replayed: true`;
 * - only answers below 500 are saved: a 5xx is thrown through Powertools, which deletes the
 *   in-progress record, so the same key runs again (and finishes any pending money movement).
 */
export interface IdempotentCall {
  sub: string;
  method: string;
  path: string;
  key: string;
  payload: unknown;
  context: Context;
}

class ServerErrorAnswer extends Error {
  constructor(readonly result: APIGatewayProxyStructuredResultV2) {
    super('server error answer (not saved)');
  }
}

let persistence: DynamoDBPersistenceLayer | undefined;
let persistenceTable = '';

function store(config: Config) {
  if (!persistence || persistenceTable !== config.tableName) {
    persistenceTable = config.tableName;
    persistence = new DynamoDBPersistenceLayer({
      tableName: config.tableName,
      keyAttr: TABLE_SCHEMA.partitionKey,
      sortKeyAttr: TABLE_SCHEMA.sortKey,
      staticPkValue: 'IDEMPOTENCY',
      expiryAttr: TABLE_SCHEMA.ttlAttribute,
      awsSdkV3Client: baseDynamoClient(config),
    });
  }
  return persistence;
}

const idempotencyConfig = () =>
  new IdempotencyConfig({
    eventKeyJmesPath: 'scope',
    payloadValidationJmesPath: 'payload',
    expiresAfterSeconds: 24 * 60 * 60,
    responseHook: (response) => {
      const r = response as APIGatewayProxyStructuredResultV2;
      return { ...r, headers: { ...(r.headers ?? {}), 'idempotent-replayed': 'true' } };
    },
  });

export async function runIdempotent(
  config: Config,
  call: IdempotentCall,
  run: () => Promise<APIGatewayProxyStructuredResultV2>,
): Promise<APIGatewayProxyStructuredResultV2> {
  const cfg = idempotencyConfig();
  cfg.registerLambdaContext(call.context);
  const guarded = makeIdempotent(
    async (_input: { scope: unknown; payload: unknown }) => {
      const result = await run();
      if ((result.statusCode ?? 200) >= 500) throw new ServerErrorAnswer(result);
      return result;
    },
    { persistenceStore: store(config), config: cfg },
  );
  try {
    return await guarded({ scope: [call.sub, call.method, call.path, call.key], payload: call.payload ?? null });
  } catch (e) {
    if (e instanceof ServerErrorAnswer) return e.result;
    const name = e instanceof Error ? e.name : '';
    if (name === 'IdempotencyAlreadyInProgressError') {
      throw new RiftError('idempotency_key_in_use', 'a request with this Idempotency-Key is still running; retry later');
    }
    if (name === 'IdempotencyValidationError') {
      throw new RiftError('idempotency_key_reused', 'this Idempotency-Key was used with a different request body');
    }
    throw e;
  }
}
