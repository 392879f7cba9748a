/**
 * Runs DynamoDB Local once (in memory, on a free port) for every test file; each test file
 * creates its own table name so files never share state.
 */
import { freePort } from '../local/ports';
import { startDynamoDbLocal, type DynamoDbLocal } from '../local/dynamodb';

let ddb: DynamoDbLocal | undefined;

export async function setup() {
  const port = await freePort();
  ddb = await startDynamoDbLocal({ port });
  process.env.DYNAMODB_ENDPOINT = ddb.endpoint;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
}

export async function teardown() {
  await ddb?.stop();
}
