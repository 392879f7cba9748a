import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, ROUTES, SCHEDULES, routeKey, type FunctionName } from '../../functions/routes';
import { TABLE_SCHEMA } from '../../lib/table-schema';
import { FUNCTION_NAMES, allowsAction, functionId, resources, statementsOf, synth, type Synth } from './helpers';

/** The route table of the contract (shared/api-contract.md), written out as the oracle ROUTES must match. */
const CONTRACT_ROUTES = [
  'GET /api/health',
  'GET /api/openapi.json',
  'POST /api/rifts',
  'GET /api/rifts',
  'GET /api/rifts/{riftId}',
  'POST /api/rifts/{riftId}/fund',
  'POST /api/rifts/{riftId}/milestones/{index}/release',
  'POST /api/rifts/{riftId}/refunds',
  'POST /api/rifts/{riftId}/disputes',
  'POST /api/rifts/{riftId}/disputes/resolve',
  'GET /api/rifts/{riftId}/events',
  'POST /api/webhooks/stripe',
  'GET /api/admin/stripe-balance',
  'POST /api/admin/stripe-balance',
  'GET /api/admin/stripe-balance/history',
  'GET /api/admin/alerts',
  'GET /api/admin/thresholds',
  'PUT /api/admin/thresholds',
  'GET /admin/stripe-balance',
];
const PUBLIC_ROUTES = ['GET /api/health', 'GET /api/openapi.json', 'POST /api/webhooks/stripe', 'GET /admin/stripe-balance'];

const ALERT_FROM = 'alerts@rift.test';
const ADMIN = 'ops@rift.test';

let dev: Synth;
let prod: Synth;
beforeAll(() => {
  dev = synth({ stage: 'dev', alertFromEmail: ALERT_FROM, adminEmail: ADMIN });
  prod = synth({ stage: 'prod' });
});

const json = (v: unknown) => JSON.stringify(v);

describe('HTTP API', () => {
  const routes = () => Object.values(resources(dev.code, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties!);

  it('has exactly the route keys of ROUTES, which are exactly the contract routes', () => {
    const keys = routes().map((r) => r.RouteKey as string);
    expect(keys).toHaveLength(new Set(keys).size);
    expect(new Set(keys)).toEqual(new Set(ROUTES.map(routeKey)));
    expect(new Set(keys)).toEqual(new Set(CONTRACT_ROUTES));
  });

  it('puts the Cognito JWT authorizer on every auth route and none on the four public ones', () => {
    const authorizers = resources(dev.code, 'AWS::ApiGatewayV2::Authorizer');
    const [authorizerId, authorizer] = Object.entries(authorizers)[0]!;
    expect(Object.keys(authorizers)).toHaveLength(1);
    expect(authorizer.Properties!.AuthorizerType).toBe('JWT');
    expect(authorizer.Properties!.IdentitySource).toEqual(['$request.header.Authorization']);
    const jwt = json(authorizer.Properties!.JwtConfiguration);
    expect(jwt).toContain('cognito-idp');
    expect(jwt).toContain('UserPool'); // issuer and audience come from the stateful stack's pool and client
    expect(jwt).toContain('WebClient');

    const byKey = new Map(routes().map((r) => [r.RouteKey as string, r]));
    const publicKeys = ROUTES.filter((r) => !r.auth).map(routeKey);
    expect(new Set(publicKeys)).toEqual(new Set(PUBLIC_ROUTES));
    for (const r of ROUTES) {
      const route = byKey.get(routeKey(r))!;
      if (r.auth) {
        expect(route.AuthorizationType, routeKey(r)).toBe('JWT');
        expect(route.AuthorizerId, routeKey(r)).toEqual({ Ref: authorizerId });
      } else {
        expect(route.AuthorizationType ?? 'NONE', routeKey(r)).toBe('NONE');
        expect(route.AuthorizerId, routeKey(r)).toBeUndefined();
      }
    }
  });

  it('sends each route to the Lambda integration of its function (one integration per function)', () => {
    const integrations = resources(dev.code, 'AWS::ApiGatewayV2::Integration');
    const apiFunctions = new Set(ROUTES.map((r) => r.fn));
    expect(Object.keys(integrations)).toHaveLength(apiFunctions.size);
    const byKey = new Map(routes().map((r) => [r.RouteKey as string, r]));
    for (const r of ROUTES) {
      const target = json(byKey.get(routeKey(r))!.Target);
      const integrationId = Object.keys(integrations).find((id) => target.includes(id));
      expect(integrationId, routeKey(r)).toBeDefined();
      const integration = integrations[integrationId!]!.Properties!;
      expect(integration.IntegrationType).toBe('AWS_PROXY');
      expect(integration.PayloadFormatVersion).toBe('2.0');
      expect(integration.IntegrationUri, routeKey(r)).toEqual({ 'Fn::GetAtt': [functionId(dev.code, r.fn), 'Arn'] });
    }
  });

  it('has a throttled $default stage with JSON access logs to a log group', () => {
    dev.code.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiAccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context\\.requestId'),
      },
    });
    dev.code.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
  });
});

describe('functions', () => {
  it('builds one house function per FUNCTIONS entry: Node 22 arm64, tracing, own log group, common env', () => {
    const fns = resources(dev.code, 'AWS::Lambda::Function');
    expect(Object.keys(fns)).toHaveLength(FUNCTION_NAMES.length);
    const logGroups = resources(dev.code, 'AWS::Logs::LogGroup');
    for (const name of FUNCTION_NAMES) {
      const p = fns[functionId(dev.code, name)]!.Properties!;
      expect(p.Runtime, name).toBe('nodejs22.x');
      expect(p.Architectures, name).toEqual(['arm64']);
      expect(p.Handler, name).toBe('index.handler');
      expect(p.TracingConfig, name).toEqual({ Mode: 'Active' });
      expect(p.Timeout, name).toBe(FUNCTIONS[name].timeoutSeconds);
      const logGroupId = p.LoggingConfig.LogGroup.Ref as string;
      expect(logGroups[logGroupId]?.Properties?.RetentionInDays, name).toBeGreaterThan(0);
      expect(p.Environment.Variables, name).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'rift',
        TABLE_NAME: 'rift-dev',
        RIFT_STAGE: 'dev',
      });
      // the AWS SDK is bundled, not taken from the runtime: no layers, no managed policies
      expect(p.Layers, name).toBeUndefined();
      expect(statementsOf(dev.code, name).managed, name).toEqual([]);
    }
  });

  it('gives Stripe/webhook secret ARNs and alert settings only to the functions that use them', () => {
    const fns = resources(dev.code, 'AWS::Lambda::Function');
    for (const name of FUNCTION_NAMES) {
      const env = fns[functionId(dev.code, name)]!.Properties!.Environment.Variables;
      expect('STRIPE_SECRET_ARN' in env, name).toBe(FUNCTIONS[name].stripe);
      expect('STRIPE_WEBHOOK_SECRET_ARN' in env, name).toBe(FUNCTIONS[name].webhookSecret);
    }
    const monitorEnv = fns[functionId(dev.code, 'balance-monitor')]!.Properties!.Environment.Variables;
    expect(monitorEnv).toMatchObject({ ADMIN_EMAIL: ADMIN, ALERT_FROM_EMAIL: ALERT_FROM, ALERT_REPEAT_HOURS: '6' });
    const adminEnv = fns[functionId(dev.code, 'admin-balance')]!.Properties!.Environment.Variables;
    expect(adminEnv.BALANCE_MONITOR_FUNCTION_NAME).toEqual({ Ref: functionId(dev.code, 'balance-monitor') });
  });
});

describe('least privilege per function', () => {
  const sesActions = /^ses:/;

  it('release can read/write the table and read the Stripe key, but has no ses:* action', () => {
    const { statements } = statementsOf(dev.code, 'release');
    expect(allowsAction(statements, /^dynamodb:PutItem$/)).not.toHaveLength(0);
    expect(json(allowsAction(statements, /^secretsmanager:GetSecretValue$/))).toContain('StripeSecretKey');
    expect(allowsAction(statements, sesActions)).toEqual([]);
  });

  it('only the balance monitor can send email, and only as the SES sender identity', () => {
    for (const name of FUNCTION_NAMES) {
      const ses = allowsAction(statementsOf(dev.code, name).statements, sesActions);
      if (FUNCTIONS[name].mail) {
        expect(name).toBe('balance-monitor');
        expect(ses).toHaveLength(1);
        expect(new Set(ses.flatMap((s) => s.Action))).toEqual(new Set(['ses:SendEmail', 'ses:SendRawEmail']));
        const resource = json(ses[0]!.Resource);
        expect(resource).toContain(':identity/');
        expect(resource).toContain('AlertSender');
        expect(resource).not.toContain('*');
      } else {
        expect(ses, name).toEqual([]);
      }
    }
    expect(FUNCTION_NAMES.filter((n) => FUNCTIONS[n].mail)).toEqual(['balance-monitor']);
    // nothing else in either stack may send mail
    const all = [...Object.values(resources(dev.code, 'AWS::IAM::Policy')), ...Object.values(resources(dev.data, 'AWS::IAM::Policy'))];
    const senders = all.filter((p) => json(p.Properties!.PolicyDocument).includes('"ses:'));
    expect(senders).toHaveLength(1);
    dev.data.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: ALERT_FROM });
  });

  it('only Stripe-facing functions read the Stripe secret; only the webhook reads the signing secret', () => {
    for (const name of FUNCTION_NAMES) {
      const reads = json(allowsAction(statementsOf(dev.code, name).statements, /^secretsmanager:GetSecretValue$/));
      expect(reads.includes('StripeSecretKey'), name).toBe(FUNCTIONS[name].stripe);
      expect(reads.includes('StripeWebhookSecret'), name).toBe(FUNCTIONS[name].webhookSecret);
    }
    expect(FUNCTION_NAMES.filter((n) => FUNCTIONS[n].stripe).length).toBeGreaterThan(0);
  });

  it('grants table access exactly as FUNCTIONS declares (none / read / readWrite)', () => {
    for (const name of FUNCTION_NAMES) {
      const { statements } = statementsOf(dev.code, name);
      const dynamo = allowsAction(statements, /^dynamodb:/);
      const writes = allowsAction(statements, /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/);
      const table = FUNCTIONS[name].table;
      expect(dynamo.length > 0, name).toBe(table !== 'none');
      expect(writes.length > 0, name).toBe(table === 'readWrite');
      if (table !== 'none') expect(json(dynamo), name).toContain(':table/rift-dev');
    }
  });

  it('only admin-balance may invoke a function, and only the balance monitor', () => {
    const monitorId = functionId(dev.code, 'balance-monitor');
    for (const name of FUNCTION_NAMES) {
      const invoke = allowsAction(statementsOf(dev.code, name).statements, /^lambda:InvokeFunction$/);
      const expected = FUNCTIONS[name].invokes ?? [];
      if (expected.length === 0) {
        expect(invoke, name).toEqual([]);
      } else {
        expect(name).toBe('admin-balance');
        expect(expected).toEqual(['balance-monitor']);
        expect(invoke).toHaveLength(1);
        const targets = json(invoke[0]!.Resource);
        expect(targets).toContain(monitorId);
        for (const other of FUNCTION_NAMES.filter((n) => n !== 'balance-monitor')) {
          expect(targets).not.toContain(functionId(dev.code, other));
        }
      }
    }
  });
});

describe('schedules', () => {
  it('runs exactly the SCHEDULES at rate(30 minutes) and rate(5 minutes), each with a DLQ and retry policy', () => {
    const rules = Object.values(resources(dev.code, 'AWS::Events::Rule')).map((r) => r.Properties!);
    expect(rules).toHaveLength(Object.keys(SCHEDULES).length);
    const expected: Record<string, FunctionName> = { 'rate(30 minutes)': 'balance-monitor', 'rate(5 minutes)': 'reconciler' };
    expect(new Set(rules.map((r) => r.ScheduleExpression))).toEqual(new Set(Object.keys(expected)));
    const queues = resources(dev.code, 'AWS::SQS::Queue');
    const queuePolicies = Object.values(resources(dev.code, 'AWS::SQS::QueuePolicy'));
    for (const rule of rules) {
      const fn = expected[rule.ScheduleExpression as string]!;
      expect(rule.State).toBe('ENABLED');
      expect(rule.Targets).toHaveLength(1);
      const target = rule.Targets[0];
      expect(target.Arn).toEqual({ 'Fn::GetAtt': [functionId(dev.code, fn), 'Arn'] });
      expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThan(0);
      const dlqId: string = target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
      expect(queues[dlqId]?.Properties?.SqsManagedSseEnabled, fn).toBe(true);
      const policy = json(queuePolicies.filter((p) => json(p.Properties!.Queues).includes(dlqId)).map((p) => p.Properties));
      expect(policy, fn).toContain('aws:SecureTransport');
      expect(policy, fn).toContain('events.amazonaws.com');
    }
    expect(SCHEDULES['balance-monitor'].rateMinutes).toBe(30);
    expect(SCHEDULES.reconciler.rateMinutes).toBe(5);
  });
});

describe('table', () => {
  it('has the pk/sk keys, the GSIs, TTL, PITR, encryption and on-demand billing of TABLE_SCHEMA', () => {
    const ix = Object.values(TABLE_SCHEMA.indexes);
    dev.data.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'rift-dev',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: TABLE_SCHEMA.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE_SCHEMA.sortKey, AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: ix.map((i) => ({
        IndexName: i.name,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' },
          { AttributeName: i.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
      TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(ix.map((i) => i.name)).toEqual(['byUser', 'pending']);
  });

  it('dev may be destroyed; prod has deletion protection and RETAIN on table, user pool and secrets', () => {
    dev.data.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    const devTable = Object.values(resources(dev.data, 'AWS::DynamoDB::Table'))[0]!;
    expect(devTable.Properties!.DeletionProtectionEnabled ?? false).toBe(false);

    prod.data.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ TableName: 'rift-prod', DeletionProtectionEnabled: true }),
    });
    prod.data.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtection: 'ACTIVE' }),
    });
    const secrets = Object.values(resources(prod.data, 'AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(2);
    for (const s of secrets) expect(s.DeletionPolicy).toBe('Retain');
    expect(prod.stateful.terminationProtection).toBe(true);
  });
});

describe('identity and secrets', () => {
  it('has a user pool, an app client without secret and the admin group', () => {
    dev.data.resourceCountIs('AWS::Cognito::UserPool', 1);
    dev.data.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_SRP_AUTH']),
    });
    dev.data.hasResourceProperties('AWS::Cognito::UserPoolClient', { ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH']) });
    const client = Object.values(resources(dev.data, 'AWS::Cognito::UserPoolClient'))[0]!.Properties!;
    expect(client.AllowedOAuthFlows).toBeUndefined();
    dev.data.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'admin' });
  });

  it('has the two Stripe secrets in Secrets Manager', () => {
    dev.data.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'rift/dev/stripe-secret-key' });
    dev.data.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'rift/dev/stripe-webhook-secret' });
  });
});

describe('alarms', () => {
  const alarms = () => Object.values(resources(dev.code, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties!);
  const topicId = () => Object.keys(resources(dev.code, 'AWS::SNS::Topic'))[0]!;

  it('alarms on errors of every function, API 5xx and DLQ depth, all to the SNS topic', () => {
    const all = alarms();
    for (const name of FUNCTION_NAMES) {
      const id = functionId(dev.code, name);
      const hit = all.filter((a) => a.MetricName === 'Errors' && json(a.Dimensions).includes(id));
      expect(hit, name).toHaveLength(1);
    }
    const api5xx = all.filter((a) => a.Namespace === 'AWS/ApiGateway' && a.MetricName === '5xx');
    expect(api5xx).toHaveLength(1);
    const dlq = all.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(dlq).toHaveLength(Object.keys(SCHEDULES).length);
    for (const a of dlq) {
      expect(a.Threshold).toBe(0);
      expect(a.ComparisonOperator).toBe('GreaterThanThreshold');
    }
    expect(all).toHaveLength(FUNCTION_NAMES.length + 1 + Object.keys(SCHEDULES).length);
    for (const a of all) expect(a.AlarmActions).toEqual([{ Ref: topicId() }]);
  });

  it('the topic is encrypted, TLS-only, and mails the admin', () => {
    dev.code.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    dev.code.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    dev.code.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: ADMIN, TopicArn: { Ref: topicId() } });
  });
});

describe('outputs', () => {
  it('exposes the API URL, user pool id, client id and table name', () => {
    dev.code.hasOutput('ApiUrl', {});
    dev.data.hasOutput('UserPoolId', {});
    dev.data.hasOutput('UserPoolClientId', {});
    dev.data.hasOutput('TableName', {});
  });

  it('keeps data and code apart: the code stack has no table, pool or secret of its own', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Cognito::UserPool', 'AWS::SecretsManager::Secret']) {
      dev.code.resourceCountIs(type, 0);
    }
    dev.data.resourceCountIs('AWS::Lambda::Function', 0);
    expect(dev.stateless.dependencies).toContain(dev.stateful);
  });
});
