import type { Node } from 'constructs';

export type Stage = 'dev' | 'prod';

/** Everything the stacks take from CDK context (`-c key=value` or cdk.json). */
export interface RiftConfig {
  stage: Stage;
  /** SES sender for the balance alerts (an SES email identity is created for it). */
  alertFromEmail: string;
  /** Recipient of the balance alerts and of the CloudWatch alarm topic. */
  adminEmail: string;
  alertRepeatHours: string;
  stripeTimeoutMs: string;
  /** Optional JSON of default thresholds, e.g. {"USD":1000}; unset = the code's defaults. */
  balanceThresholds?: string;
}

export const DEFAULTS = {
  alertFromEmail: 'alerts@example.com',
  adminEmail: 'admin@example.com',
  alertRepeatHours: '6',
  stripeTimeoutMs: '10000',
} as const;

const str = (node: Node, key: string): string | undefined => {
  const v: unknown = node.tryGetContext(key);
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
};

export function readConfig(node: Node): RiftConfig {
  const stage = str(node, 'stage') ?? 'dev';
  if (stage !== 'dev' && stage !== 'prod') throw new Error(`context stage must be dev or prod, got "${stage}"`);
  return {
    stage,
    alertFromEmail: str(node, 'alertFromEmail') ?? DEFAULTS.alertFromEmail,
    adminEmail: str(node, 'adminEmail') ?? DEFAULTS.adminEmail,
    alertRepeatHours: str(node, 'alertRepeatHours') ?? DEFAULTS.alertRepeatHours,
    stripeTimeoutMs: str(node, 'stripeTimeoutMs') ?? DEFAULTS.stripeTimeoutMs,
    balanceThresholds: str(node, 'balanceThresholds'),
  };
}

/** `balance-monitor` -> `BalanceMonitor` (construct ids). */
export const pascal = (name: string) =>
  name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');

/** `balance-monitor` -> `BALANCE_MONITOR` (env var prefixes). */
export const upperSnake = (name: string) => name.replace(/[^a-zA-Z0-9]+/g, '_').toUpperCase();
