/**
 * The reconciler function (EventBridge `rate(5 minutes)`; locally `npm run invoke -- reconciler`).
 * Thin: wires the escrow adapters and runs `reconcilePending`, reporting what it did as metrics
 * and one log line per intent.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { reconcilePending, type ReconcileReport } from '../core/reconcile';
import { escrowDeps } from '../api/deps';
import { logger } from '../http/logger';

const metrics = new Metrics({ namespace: 'Rift', serviceName: 'reconciler' });

export const handler = async (_event: ScheduledEvent<unknown>, context?: Context): Promise<ReconcileReport> => {
  if (context) logger.addContext(context);
  const graceMs = Number(process.env.RECONCILER_GRACE_SECONDS ?? 0) * 1000;
  const report = await reconcilePending(escrowDeps(), { graceMs, limit: 100 });
  for (const i of report.items) logger.info('reconciled intent', i);
  metrics.addMetric('IntentsCompleted', MetricUnit.Count, report.completed);
  metrics.addMetric('IntentsVoided', MetricUnit.Count, report.voided);
  metrics.addMetric('IntentsStillPending', MetricUnit.Count, report.stillPending);
  metrics.publishStoredMetrics();
  logger.info('reconciler run', { examined: report.examined, completed: report.completed, voided: report.voided, stillPending: report.stillPending });
  return report;
};
