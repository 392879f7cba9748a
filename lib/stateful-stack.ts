import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import type { Construct } from 'constructs';
import type { RiftConfig } from './config';
import { TABLE_SCHEMA } from './table-schema';

export interface StatefulStackProps extends StackProps {
  config: RiftConfig;
}

/**
 * Everything that holds data or identity: the table, the user pool, the Stripe secrets and the
 * SES sender identity. Code deploys go to the stateless stack and never replace these.
 */
export class StatefulStack extends Stack {
  /** Fixed per stage, so the stateless stack addresses the table by name, not by a cross-stack reference. */
  readonly tableName: string;
  readonly table: dynamodb.Table;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly adminGroup: cognito.UserPoolGroup;
  readonly stripeSecret: secretsmanager.Secret;
  readonly webhookSecret: secretsmanager.Secret;
  readonly alertSender: ses.EmailIdentity;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;
    const prod = config.stage === 'prod';
    const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const str = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
    this.tableName = `rift-${config.stage}`;
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: this.tableName,
      partitionKey: str(TABLE_SCHEMA.partitionKey),
      sortKey: str(TABLE_SCHEMA.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: prod,
      removalPolicy,
    });
    for (const ix of Object.values(TABLE_SCHEMA.indexes)) {
      this.table.addGlobalSecondaryIndex({
        indexName: ix.name,
        partitionKey: str(ix.partitionKey),
        sortKey: str(ix.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `rift-${config.stage}`,
      selfSignUpEnabled: true,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: prod,
      removalPolicy,
    });
    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason: 'MFA is optional (TOTP) so buyers and sellers can sign up without an authenticator; admins are asked to enrol (README). Money moves are also gated by party/admin checks in code.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason: 'Threat protection needs the Cognito Plus feature plan, not bought for this service yet; compensated by a 12-character password policy and optional TOTP MFA.',
      },
    );

    this.userPoolClient = this.userPool.addClient('WebClient', {
      userPoolClientName: `rift-${config.stage}-web`,
      generateSecret: false,
      // Tokens via InitiateAuth (SRP from apps, USER_PASSWORD for the CLI/ops); no hosted UI, so no OAuth flows.
      authFlows: { userSrp: true, userPassword: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });

    this.adminGroup = this.userPool.addGroup('AdminGroup', {
      groupName: 'admin',
      description: 'Rift administrators: refunds during disputes, dispute resolution, balance monitoring.',
    });

    const secret = (cid: string, name: string, description: string) => {
      const s = new secretsmanager.Secret(this, cid, {
        secretName: `rift/${config.stage}/${name}`,
        description,
        removalPolicy,
      });
      Validations.of(s).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'A Stripe key is issued by Stripe, not by AWS: it is rotated in the Stripe dashboard and then written here with put-secret-value; a rotation Lambda cannot mint one.',
      });
      return s;
    };
    this.stripeSecret = secret('StripeSecretKey', 'stripe-secret-key', 'Stripe secret API key (sk_...). Set it with aws secretsmanager put-secret-value.');
    this.webhookSecret = secret(
      'StripeWebhookSecret',
      'stripe-webhook-secret',
      'Stripe webhook signing secret (whsec_...). Set it with aws secretsmanager put-secret-value.',
    );

    this.alertSender = new ses.EmailIdentity(this, 'AlertSender', {
      identity: ses.Identity.email(config.alertFromEmail),
    });

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'StripeSecretArn', { value: this.stripeSecret.secretArn });
    new CfnOutput(this, 'StripeWebhookSecretArn', { value: this.webhookSecret.secretArn });
  }
}
