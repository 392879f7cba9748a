import { Stack, Validations, type App } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers';

/** Every acknowledgment recorded on the construct tree: rule id, reason, where. */
function acknowledgments(root: IConstruct) {
  const out: { id: string; reason: string; path: string }[] = [];
  for (const c of root.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !m.data) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, unknown>)) {
        out.push({ id, reason: String(typeof reason === 'object' && reason && 'reason' in reason ? (reason as { reason: unknown }).reason : reason), path: c.node.path });
      }
    }
  }
  return out;
}

function nag(app: App) {
  const pack = new AwsSolutionsChecks(app);
  app.synth();
  return pack.validateScope(app).violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

describe('cdk-nag AwsSolutionsChecks', () => {
  for (const stage of ['dev', 'prod']) {
    it(`${stage}: no unacknowledged error or warning`, () => {
      const { app } = buildTestApp({ stage });
      expect(nag(app)).toEqual([]);
    });
  }

  it('every acknowledged finding carries a written reason', () => {
    const { app } = buildTestApp({ stage: 'prod' });
    const acks = acknowledgments(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id, a.path).toMatch(/AwsSolutions-/);
      expect(a.reason.trim().length, `${a.id} at ${a.path}`).toBeGreaterThanOrEqual(40);
    }
  });

  it('runs as a CDK validation plugin and does catch a violation (the check is live)', () => {
    const { app } = buildTestApp({ stage: 'dev' });
    const canary = new Stack(app, 'NagCanary');
    new sqs.Queue(canary, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const found = nag(app);
    expect(found.some((f) => f.includes('AwsSolutions-SQS') && f.includes('NagCanary/Unencrypted'))).toBe(true);
    expect(found.every((f) => f.includes('NagCanary'))).toBe(true);
  });

  it('the plugin registered like bin/app.ts does lets the real app synthesize', () => {
    const { app } = buildTestApp({ stage: 'dev' });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
