import { describe, expect, it } from 'vitest';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ensureTable, localDynamoClient } from '../../local/dynamodb';

describe('DynamoDB Local (global setup)', () => {
  it('creates the table from the shared schema', async () => {
    const endpoint = process.env.DYNAMODB_ENDPOINT!;
    await ensureTable(endpoint, 'smoke');
    const out = await localDynamoClient(endpoint).send(new ListTablesCommand({}));
    expect(out.TableNames).toContain('smoke');
  });
});
