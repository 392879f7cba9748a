import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FUNCTIONS, ROUTES, SCHEDULES, type FunctionName } from '../functions/routes';
import { pascal, upperSnake, type RiftConfig } from './config';
import { nagResource } from './nag';
import { RiftFunction } from './rift-function';
import { TABLE_SCHEMA } from './table-schema';
import type { StatefulStack } from './stateful-stack';

export interface StatelessStackProps extends StackProps {
  config: RiftConfig;
  data: StatefulStack;
}

/** The DLQ depth alarm threshold: any message at all means a scheduled run was lost. */
const DLQ_ALARM_THRESHOLD = 0;
export const SCHEDULE_RETRY_ATTEMPTS = 2;
export const SCHEDULE_MAX_EVENT_AGE = Duration.hours(1);

/**
 * Code: one function per entry of FUNCTIONS, the HTTP API from ROUTES, the schedules from
 * SCHEDULES, and the alarms. Holds no data; redeploying it never touches the table.
 */
export class StatelessStack extends Stack {
  readonly functions = {} as Record<FunctionName, RiftFunction>;
  readonly api: apigw.HttpApi;
  readonly alarmTopic: sns.Topic;
  readonly deadLetterQueues: Record<string, sqs.Queue> = {};

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const prod = config.stage === 'prod';

    // ---- functions, with exactly the access FUNCTIONS declares -------------------------------
    // The table by its fixed name (no cross-stack reference: the data stack never waits on code).
    const table = dynamodb.Table.fromTableAttributes(this, 'Table', {
      tableName: data.tableName,
      globalIndexes: Object.values(TABLE_SCHEMA.indexes).map((ix) => ix.name),
    });
    const names = Object.keys(FUNCTIONS) as FunctionName[];
    for (const name of names) {
      const spec = FUNCTIONS[name];
      const environment: Record<string, string> = {
        TABLE_NAME: table.tableName,
        STRIPE_TIMEOUT_MS: config.stripeTimeoutMs,
      };
      if (spec.stripe) environment.STRIPE_SECRET_ARN = data.stripeSecret.secretArn;
      if (spec.webhookSecret) environment.STRIPE_WEBHOOK_SECRET_ARN = data.webhookSecret.secretArn;
      if (spec.mail || spec.invokes?.some((t) => FUNCTIONS[t].mail) || name === 'admin-balance') {
        environment.ADMIN_EMAIL = config.adminEmail;
        environment.ALERT_FROM_EMAIL = config.alertFromEmail;
        environment.ALERT_REPEAT_HOURS = config.alertRepeatHours;
        if (config.balanceThresholds) environment.BALANCE_THRESHOLDS = config.balanceThresholds;
      }
      const fn = new RiftFunction(this, `${pascal(name)}Function`, {
        entry: spec.entry,
        stage: config.stage,
        description: `Rift ${config.stage}: ${name}`,
        timeout: Duration.seconds(spec.timeoutSeconds),
        environment,
        logRetention: prod ? logs.RetentionDays.THREE_MONTHS : logs.RetentionDays.ONE_WEEK,
        logRemovalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      this.functions[name] = fn;

      if (spec.table === 'readWrite') {
        table.grantReadWriteData(fn);
      } else if (spec.table === 'read') {
        table.grantReadData(fn);
      }
      if (spec.table !== 'none') {
        Validations.of(fn.role!).acknowledge({
          id: `AwsSolutions-IAM5[${nagResource(this, `${table.tableArn}/index/*`)}]`,
          reason: 'Queries the table GSIs (byUser, pending) declared in lib/table-schema.ts; the grant is limited to this one table.',
        });
      }
      if (spec.stripe) data.stripeSecret.grantRead(fn);
      if (spec.webhookSecret) data.webhookSecret.grantRead(fn);
      if (spec.mail) data.alertSender.grantSendEmail(fn);
    }
    // Invocations are wired once every function exists (a function may invoke one declared after it).
    for (const name of names) {
      for (const target of FUNCTIONS[name].invokes ?? []) {
        const caller = this.functions[name];
        const callee = this.functions[target];
        callee.grantInvoke(caller);
        caller.addEnvironment(`${upperSnake(target)}_FUNCTION_NAME`, callee.functionName);
        Validations.of(caller.role!).acknowledge({
          id: `AwsSolutions-IAM5[${nagResource(this, `${callee.functionArn}:*`)}]`,
          reason: `lambda:InvokeFunction on ${target} and its versions/aliases (the ':*' form CDK grants); no other function.`,
        });
      }
    }

    // ---- HTTP API from ROUTES -------------------------------------------------------------------
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: prod ? logs.RetentionDays.THREE_MONTHS : logs.RetentionDays.ONE_WEEK,
      removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `rift-${config.stage}`,
      description: `Rift escrow API (${config.stage})`,
      createDefaultStage: false,
    });
    this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { burstLimit: 100, rateLimit: 50 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: apigwAccessLogFormat(),
      },
    });
    const authorizer = new HttpUserPoolAuthorizer('CognitoAuthorizer', data.userPool, {
      userPoolClients: [data.userPoolClient],
      identitySource: ['$request.header.Authorization'],
    });
    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    for (const route of ROUTES) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${pascal(route.fn)}Integration`, this.functions[route.fn]);
        integrations.set(route.fn, integration);
      }
      const [created] = this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration,
        authorizer: route.auth ? authorizer : undefined,
      });
      if (!route.auth && created) {
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is public by contract (health, OpenAPI document, Stripe-signed webhook verified in code, or the dashboard page that asks for a token itself).`,
        });
      }
    }

    // ---- alarms topic ---------------------------------------------------------------------------
    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `Rift ${config.stage} alarm topic encryption`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch alarms can publish to an encrypted topic only if the key lets cloudwatch use it.
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Rift ${config.stage} alarms`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    this.alarmTopic.addSubscription(new EmailSubscription(config.adminEmail));
    const alarmAction = new SnsAction(this.alarmTopic);

    // ---- schedules from SCHEDULES ---------------------------------------------------------------
    for (const [name, { rateMinutes }] of Object.entries(SCHEDULES) as [keyof typeof SCHEDULES, { rateMinutes: number }][]) {
      const dlq = new sqs.Queue(this, `${pascal(name)}ScheduleDlq`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      Validations.of(dlq).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of the EventBridge target; it is watched by a depth alarm.',
      });
      this.deadLetterQueues[name] = dlq;
      new events.Rule(this, `${pascal(name)}Schedule`, {
        description: `Rift ${config.stage}: run ${name} every ${rateMinutes} minutes`,
        schedule: events.Schedule.rate(Duration.minutes(rateMinutes)),
        targets: [
          new targets.LambdaFunction(this.functions[name], {
            deadLetterQueue: dlq,
            retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
            maxEventAge: SCHEDULE_MAX_EVENT_AGE,
          }),
        ],
      });
      new cloudwatch.Alarm(this, `${pascal(name)}DlqDepthAlarm`, {
        alarmDescription: `Scheduled ${name} events are in the dead-letter queue`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: DLQ_ALARM_THRESHOLD,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(alarmAction);
    }

    // ---- alarms ---------------------------------------------------------------------------------
    for (const name of names) {
      new cloudwatch.Alarm(this, `${pascal(name)}ErrorsAlarm`, {
        alarmDescription: `Rift ${config.stage}: ${name} function errors`,
        metric: this.functions[name].metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(alarmAction);
    }
    new cloudwatch.Alarm(this, 'Api5xxAlarm', {
      alarmDescription: `Rift ${config.stage}: HTTP API 5xx responses`,
      metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(alarmAction);

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
  }
}

/** JSON access log line; `$context` variables of HTTP APIs. */
function apigwAccessLogFormat() {
  // AccessLogFormat lives in aws-apigateway (REST) but is what HTTP API stages take too.
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      requestTime: '$context.requestTime',
      routeKey: '$context.routeKey',
      status: '$context.status',
      protocol: '$context.protocol',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationLatency: '$context.integrationLatency',
      integrationError: '$context.integrationErrorMessage',
      authorizerError: '$context.authorizer.error',
      sub: '$context.authorizer.claims.sub',
    }),
  );
}
