/**
 * The balance-monitor function (EventBridge `rate(30 minutes)`; also invoked on demand by
 * admin-balance, and locally by `POST /_local/invoke/balance-monitor`). Thin: it reads
 * `event.detail.{thresholds,force}`, builds the service from the environment and runs it.
 *
 * The only function allowed to send mail. Its result (`MonitorRunResult`) is the invoke payload
 * the admin route answers with. A failed Stripe read is a normal result (`ok: false`, the failed
 * check recorded); a DynamoDB failure throws, so Lambda's error metrics and the DLQ see it.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { loadConfig, type Config } from '../adapters/config';
import { dynamoClient } from '../adapters/dynamo-client';
import { createStripeGateway } from '../adapters/stripe-gateway';
import { createBalanceStore } from '../adapters/balance-store';
import { createSesMailer, sesClient } from '../adapters/ses-mailer';
import { thresholdEntryProblem, type Thresholds } from '../core/balance';
import { createBalanceService, type BalanceMetrics, type BalanceService, type MonitorRunResult } from './balance-service';

// zod/mini ships no messages (every issue would read "Invalid input"): the English locale, as classic
// zod loads it, keeps the issue messages as they were (~3 KB; idempotent, it only sets the global locale).
z.config(en());

const logger = new Logger({ serviceName: 'balance-monitor' });
const powertoolsMetrics = new Metrics({ namespace: 'Rift', serviceName: 'balance-monitor' });

export const metrics: BalanceMetrics = {
  available(currency, amount) {
    const m = powertoolsMetrics.singleMetric();
    m.addDimension('currency', currency.toUpperCase());
    m.addMetric('StripeBalanceAvailable', MetricUnit.Count, amount);
  },
  alertCount(count) {
    powertoolsMetrics.addMetric('BalanceAlerts', MetricUnit.Count, count);
  },
  checkFailed() {
    powertoolsMetrics.addMetric('BalanceCheckFailed', MetricUnit.Count, 1);
  },
  publish() {
    powertoolsMetrics.publishStoredMetrics();
  },
};

let cached: { key: string; service: BalanceService } | undefined;

/** The service wired from the environment, built once per cold start (rebuilt if the config changes). */
export function balanceService(config: Config = loadConfig()): BalanceService {
  const key = JSON.stringify(config);
  if (!cached || cached.key !== key) {
    cached = {
      key,
      service: createBalanceService({
        gateway: createStripeGateway(config),
        store: createBalanceStore(dynamoClient(config), config.tableName),
        mailer: createSesMailer(sesClient(config)),
        config,
        metrics,
        logger: {
          info: (m, x) => logger.info(m, x ?? {}),
          warn: (m, x) => logger.warn(m, x ?? {}),
          error: (m, x) => logger.error(m, x ?? {}),
        },
      }),
    };
  }
  return cached.service;
}

// The operations of the original design, bound to the environment's service.
export const monitorStripeBalance = (thresholds?: Thresholds, opts?: { force?: boolean }) =>
  balanceService().monitorStripeBalance(thresholds, { ...opts, trigger: 'manual' });
export const checkBalanceForTransfer = (currency: string, amount: number) => balanceService().checkBalanceForTransfer(currency, amount);
export const getBalanceSummary = () => balanceService().getBalanceSummary();
export const runBalanceMonitoring = (input?: { thresholds?: Thresholds; force?: boolean }) => balanceService().runBalanceMonitoring(input);

const detailSchema = z.looseObject({
  thresholds: z.optional(z.record(z.string(), z.number())).check(
    z.superRefine((t, ctx) => {
      for (const [k, v] of Object.entries(t ?? {})) {
        const p = thresholdEntryProblem(k, v);
        if (p) ctx.addIssue({ code: 'custom', path: [k], message: p });
      }
    }),
  ),
  force: z.optional(z.boolean()),
});

export const handler = async (event: ScheduledEvent<unknown>, context?: Context): Promise<MonitorRunResult> => {
  if (context) logger.addContext(context);
  const parsed = detailSchema.safeParse(event?.detail ?? {});
  if (!parsed.success) {
    // Never silently run with other thresholds than asked for.
    throw new Error(`invalid balance-monitor event detail: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const { thresholds, force } = parsed.data;
  const manual = event?.source !== 'aws.events' || thresholds !== undefined || force !== undefined;
  return balanceService().runBalanceMonitoring({ thresholds, force, trigger: manual ? 'manual' : 'schedule' });
};
