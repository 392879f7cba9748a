import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from './config';

/** One DynamoDB client per process (per cold start), shared by the stores and the idempotency layer. */
const cache = new Map<string, DynamoDBDocumentClient>();

export function dynamoClient(config: Config): DynamoDBDocumentClient {
  const key = `${config.region}|${config.dynamodbEndpoint ?? ''}`;
  let doc = cache.get(key);
  if (!doc) {
    const client = new DynamoDBClient({
      region: config.region,
      ...(config.dynamodbEndpoint
        ? { endpoint: config.dynamodbEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    });
    doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    cache.set(key, doc);
  }
  return doc;
}
