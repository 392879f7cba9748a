/**
 * The one definition of the Rift table: the CDK stack and the local stack both build from it.
 * Plain data (no CDK import) so the local stack can load it without aws-cdk-lib.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  indexes: {
    /** Membership items: lists a user's rifts, newest first (gsi1sk = createdAt#riftId). */
    byUser: { name: 'byUser', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    /** Sparse: only release/refund items that are still pending carry these attributes. */
    pending: { name: 'pending', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  },
} as const;

/** The CreateTable input the local stack and integration tests use (on-demand, like AWS). */
export function createTableInput(tableName: string) {
  const { partitionKey, sortKey, indexes } = TABLE_SCHEMA;
  const attrs = [partitionKey, sortKey, indexes.byUser.partitionKey, indexes.byUser.sortKey, indexes.pending.partitionKey, indexes.pending.sortKey];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: attrs.map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' as const },
      { AttributeName: sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: Object.values(indexes).map((ix) => ({
      IndexName: ix.name,
      KeySchema: [
        { AttributeName: ix.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: ix.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}
