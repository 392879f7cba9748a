/**
 * A full, deterministic dump of a DynamoDB table: every item (Scan, all pages, strongly
 * consistent), unmarshalled and sorted by `pk`/`sk`. Two dumps compare with `toEqual` to prove
 * that a batch of requests changed nothing.
 */
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

export type DumpItem = Record<string, unknown>;

const keyOf = (i: DumpItem) => `${String(i.pk ?? '')}\u0000${String(i.sk ?? '')}`;

export async function dumpTable(tableName: string, endpoint = process.env.DYNAMODB_ENDPOINT, region = process.env.AWS_REGION ?? 'us-east-1'): Promise<DumpItem[]> {
  if (!endpoint) throw new Error('dumpTable: no DynamoDB endpoint (DYNAMODB_ENDPOINT)');
  const client = new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const items: DumpItem[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }));
      for (const raw of page.Items ?? []) items.push(unmarshall(raw, { wrapNumbers: false }));
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  } finally {
    client.destroy();
  }
}
