#!/usr/bin/env -S npx tsx
/**
 * The CDK app: `npx cdk synth|deploy --all -c stage=dev|prod`
 * (context also: alertFromEmail, adminEmail, alertRepeatHours, stripeTimeoutMs, balanceThresholds).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildRift } from '../lib/rift-app';

const app = new App();
buildRift(app);
// cdk-nag runs on every synth; acknowledged findings carry their reason next to the resource (lib/).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
