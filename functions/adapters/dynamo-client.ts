import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from './config';

/** One DynamoDB client per process (per cold start), shared by the stores and the idempotency layer. */
const cache = new Map<string, { client: DynamoDBClient; doc: DynamoDBDocumentClient }>();

function clients(config: Config) {
  const key = `${config.region}|${config.dynamodbEndpoint ?? ''}`;
  let c = cache.get(key);
  if (!c) {
    const client = new DynamoDBClient({
      region: config.region,
      ...(config.dynamodbEndpoint
        ? { endpoint: config.dynamodbEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    });
    c = { client, doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }) };
    cache.set(key, c);
  }
  return c;
}

export const dynamoClient = (config: Config): DynamoDBDocumentClient => clients(config).doc;
/** The plain client under the document client (the idempotency layer wants this one). */
export const baseDynamoClient = (config: Config): DynamoDBClient => clients(config).client;
