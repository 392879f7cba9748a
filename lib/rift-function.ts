import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LOCK_FILE, PROJECT_ROOT, fromRoot } from './paths';

export interface RiftFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture' | 'role' | 'logGroup'> {
  /** Entry file relative to the project root (from FUNCTIONS in functions/routes.ts). */
  entry: string;
  stage: string;
  logRetention?: logs.RetentionDays;
  logRemovalPolicy?: RemovalPolicy;
}

/**
 * The house Lambda function: Node.js 22.x on arm64, ESM bundle (minified, source maps, AWS SDK v3
 * bundled), its own log group with retention, active X-Ray tracing, the common environment, and a
 * role that starts with nothing but writing to its own log group. Callers add grants per FUNCTIONS.
 */
export class RiftFunction extends NodejsFunction {
  readonly logGroupRef: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RiftFunctionProps) {
    const { entry, stage, logRetention, logRemovalPolicy, environment, bundling, ...rest } = props;

    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    // Our own role instead of the AWSLambdaBasicExecutionRole managed policy: logs only to its own group.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Rift ${stage} ${id} function`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      memorySize: 512,
      timeout: Duration.seconds(29),
      ...rest,
      entry: fromRoot(entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: LOCK_FILE,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'rift',
        POWERTOOLS_METRICS_NAMESPACE: 'Rift',
        RIFT_STAGE: stage,
        ...environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the AWS SDK v3 too: pinned versions, faster cold starts than the runtime's copy.
        externalModules: [],
        // Some CJS dependencies call require() on Node builtins; give the ESM bundle one.
        banner: "import{createRequire as __rift_cr}from'node:module';const require=__rift_cr(import.meta.url);",
        ...bundling,
      },
    });
    this.logGroupRef = logGroup;

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support no resource-level permissions.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The design pins Node.js 22.x (the runtime the code and its tests target); upgraded deliberately, not by a linter.',
    });
  }
}
