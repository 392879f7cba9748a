import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildRift, type RiftStacks } from '../../lib/rift-app';
import { FUNCTIONS, type FunctionName } from '../../functions/routes';

/** The feature flags and defaults of cdk.json, so tests synthesize what `cdk synth` does. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

export interface Synth extends RiftStacks {
  app: App;
  stateful: RiftStacks['stateful'];
  stateless: RiftStacks['stateless'];
  data: Template;
  code: Template;
}

/** Builds the app without esbuild (bundling skipped for every stack): fast, same templates otherwise. */
export function buildTestApp(context: Record<string, unknown> = {}): { app: App } & RiftStacks {
  const app = new App({
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context },
  });
  return { app, ...buildRift(app) };
}

export function synth(context: Record<string, unknown> = {}): Synth {
  const built = buildTestApp(context);
  return { ...built, data: Template.fromStack(built.stateful), code: Template.fromStack(built.stateless) };
}

type Res = { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

export const resources = (t: Template, type: string): Record<string, Res> => t.findResources(type) as Record<string, Res>;

/** Logical id of the Lambda function built for `name` (found by its description, not by id). */
export function functionId(t: Template, name: FunctionName): string {
  const hits = Object.entries(resources(t, 'AWS::Lambda::Function')).filter(
    ([, r]) => typeof r.Properties?.Description === 'string' && r.Properties.Description.endsWith(`: ${name}`),
  );
  if (hits.length !== 1) throw new Error(`expected one function for ${name}, found ${hits.length}`);
  return hits[0]![0];
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement attached to the function's role: inline policies and AWS::IAM::Policy documents. */
export function statementsOf(t: Template, name: FunctionName): { statements: Statement[]; managed: unknown[] } {
  const fn = resources(t, 'AWS::Lambda::Function')[functionId(t, name)]!;
  const roleId: string = fn.Properties!.Role['Fn::GetAtt'][0];
  const role = resources(t, 'AWS::IAM::Role')[roleId];
  if (!role) throw new Error(`no role ${roleId} for ${name}`);
  const statements: Statement[] = [];
  for (const p of role.Properties?.Policies ?? []) statements.push(...p.PolicyDocument.Statement);
  for (const p of Object.values(resources(t, 'AWS::IAM::Policy'))) {
    const roles: unknown[] = p.Properties!.Roles ?? [];
    if (roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) {
      statements.push(...p.Properties!.PolicyDocument.Statement);
    }
  }
  return { statements, managed: role.Properties?.ManagedPolicyArns ?? [] };
}

export const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

export const allowsAction = (statements: Statement[], pattern: RegExp) =>
  statements.filter((s) => s.Effect === 'Allow' && actionsOf(s).some((a) => pattern.test(a)));

export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];
