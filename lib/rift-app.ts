import type { App } from 'aws-cdk-lib';
import { readConfig, type RiftConfig } from './config';
import { StatefulStack } from './stateful-stack';
import { StatelessStack } from './stateless-stack';

export interface RiftStacks {
  config: RiftConfig;
  stateful: StatefulStack;
  stateless: StatelessStack;
}

/** Builds both stacks of one stage (context `stage`, default dev) into the app. */
export function buildRift(app: App): RiftStacks {
  const config = readConfig(app.node);
  const env =
    process.env.CDK_DEFAULT_ACCOUNT || process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined;
  const prefix = `Rift-${config.stage}`;
  const tags = { project: 'rift', stage: config.stage };
  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    config,
    env,
    tags,
    description: `Rift ${config.stage}: table, user pool, secrets, SES identity (data; RETAIN in prod)`,
    terminationProtection: config.stage === 'prod',
  });
  const stateless = new StatelessStack(app, `${prefix}-Stateless`, {
    config,
    data: stateful,
    env,
    tags,
    description: `Rift ${config.stage}: functions, HTTP API, schedules, alarms (code only)`,
  });
  stateless.addStackDependency(stateful);
  return { config, stateful, stateless };
}
