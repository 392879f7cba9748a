/**
 * Admin balance routes (admins only; anyone else gets 403 forbidden):
 * - `GET  /api/admin/stripe-balance`          live summary (stores nothing)
 * - `POST /api/admin/stripe-balance`          runs the monitor now, in the balance-monitor function
 *                                             (this function may not send mail): `{ summary, alerts, emailed }`
 * - `GET  /api/admin/stripe-balance/history`  snapshots, newest first (`?limit=`, default 100, max 1000)
 * - `GET  /api/admin/alerts`                  alerts, newest first (`?limit=`, default 50, max 1000)
 * - `GET  /api/admin/thresholds`              the thresholds the scheduled monitor uses
 * - `PUT  /api/admin/thresholds`              replaces the stored set; body `{ thresholds: { USD: 2000 } }`
 *                                             (a bare `{ USD: 2000 }` is accepted too)
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { httpHandler, parseBody, parseWith, requireAdmin, type HttpRequest, type RouteEntry } from '../http';
import { RiftError } from '../core/errors';
import { thresholdEntryProblem, type Thresholds } from '../core/balance';
import type { Config } from '../adapters/config';
import { dynamoClient } from '../adapters/dynamo-client';
import { createStripeGateway } from '../adapters/stripe-gateway';
import { PaymentProviderError } from '../adapters/payment-gateway';
import { createBalanceStore } from '../adapters/balance-store';
import { createMonitorRunner, type MonitorRunner } from '../adapters/monitor-runner';
import { createBalanceService, type BalanceService } from '../scheduled/balance-service';

// zod/mini ships no messages (every issue would read "Invalid input"): the English locale, as classic
// zod loads it, keeps the issue messages as they were (~3 KB; idempotent, it only sets the global locale).
z.config(en());

export interface AdminBalanceDeps {
  /** Built without a mailer: this function never sends mail itself. */
  service: BalanceService;
  runner: MonitorRunner;
}

/**
 * `{ "USD": 1000, ... }`: known upper-case ISO-4217 codes, finite non-negative major units.
 * zod's record silently drops an own `__proto__` key (JSON.parse makes one), so `{"__proto__":…}`
 * would pass as `{}` (and a PUT would wipe the stored set): the keys are checked on the raw input.
 */
export const thresholdsSchema = z.pipe(
  z.unknown().check(
    z.superRefine((raw, ctx) => {
      if (raw !== null && typeof raw === 'object' && Object.hasOwn(raw, '__proto__')) {
        ctx.addIssue({ code: 'custom', path: ['__proto__'], message: thresholdEntryProblem('__proto__', 0) ?? 'unknown currency' });
      }
    }),
  ),
  z.record(z.string(), z.unknown()).check(
    z.superRefine((t, ctx) => {
      for (const [k, v] of Object.entries(t)) {
        const problem = thresholdEntryProblem(k, v);
        if (problem) ctx.addIssue({ code: 'custom', path: [k], message: problem });
      }
    }),
  ),
) as unknown as z.ZodMiniType<Thresholds>;

const runBodySchema = z.strictObject({
  thresholds: z.optional(thresholdsSchema),
  force: z.optional(z.boolean()),
});

const putBodySchema = z.strictObject({ thresholds: thresholdsSchema });

const limitQuery = (dflt: number) =>
  z.looseObject({ limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1000)), dflt) });

const providerError = (e: unknown): never => {
  if (e instanceof PaymentProviderError) {
    throw new RiftError('payment_provider_error', `could not read the Stripe balance: ${e.message}`, e.providerCode ? { providerCode: e.providerCode } : undefined);
  }
  throw e;
};

export function adminBalanceRoutes(getDeps: (req: HttpRequest) => AdminBalanceDeps): Record<string, RouteEntry> {
  return {
    'GET /api/admin/stripe-balance': async (req) => {
      requireAdmin(req);
      const summary = await getDeps(req).service.getBalanceSummary().catch(providerError);
      return { status: 200, body: summary };
    },

    'POST /api/admin/stripe-balance': async (req) => {
      requireAdmin(req);
      const input = parseBody(runBodySchema, req.body);
      let result;
      try {
        result = await getDeps(req).runner.run({
          ...(input.thresholds ? { thresholds: input.thresholds } : {}),
          ...(input.force !== undefined ? { force: input.force } : {}),
        });
      } catch (e) {
        req.logger.error('running the balance monitor failed', { error: e as Error });
        throw new RiftError('internal_error', 'the balance monitor could not be run');
      }
      if (!result.ok) {
        throw new RiftError('payment_provider_error', result.error?.message ?? 'could not read the Stripe balance', {
          consecutiveFailures: result.consecutiveFailures ?? 1,
          alerts: result.alerts,
          emailed: result.emailed,
        });
      }
      return {
        status: 200,
        body: {
          summary: result.summary,
          alerts: result.alerts,
          emailed: result.emailed,
          ...(result.error ? { emailError: result.error.message } : {}),
        },
      };
    },

    'GET /api/admin/stripe-balance/history': async (req) => {
      requireAdmin(req);
      const { limit } = parseWith(limitQuery(100), req.query, 'query');
      return { status: 200, body: { snapshots: await getDeps(req).service.listSnapshots(limit) } };
    },

    'GET /api/admin/alerts': async (req) => {
      requireAdmin(req);
      const { limit } = parseWith(limitQuery(50), req.query, 'query');
      return { status: 200, body: { alerts: await getDeps(req).service.listAlerts(limit) } };
    },

    'GET /api/admin/thresholds': async (req) => {
      requireAdmin(req);
      return { status: 200, body: { thresholds: await getDeps(req).service.getThresholds() } };
    },

    'PUT /api/admin/thresholds': async (req) => {
      const caller = requireAdmin(req);
      const raw = req.body;
      // `{ thresholds: {...} }`, or the bare map (no currency code is called "thresholds").
      const body =
        raw && typeof raw === 'object' && !Array.isArray(raw) && 'thresholds' in raw ? raw : { thresholds: raw };
      const { thresholds } = parseBody(putBodySchema, body);
      await getDeps(req).service.putThresholds(thresholds, caller.sub);
      return { status: 200, body: { thresholds } };
    },
  };
}

let cached: { key: string; deps: AdminBalanceDeps } | undefined;

function depsFromConfig(config: Config): AdminBalanceDeps {
  const key = JSON.stringify(config);
  if (!cached || cached.key !== key) {
    cached = {
      key,
      deps: {
        service: createBalanceService({
          gateway: createStripeGateway(config),
          store: createBalanceStore(dynamoClient(config), config.tableName),
          config,
        }),
        // Resolved per run, so the read-only routes work even where no runner is configured.
        runner: { run: (input) => createMonitorRunner(config).run(input) },
      },
    };
  }
  return cached.deps;
}

/** A handler with injected dependencies (tests); the default one builds them from the environment. */
export const createAdminBalanceHandler = (getDeps: (req: HttpRequest) => AdminBalanceDeps = (req) => depsFromConfig(req.config)) =>
  httpHandler(adminBalanceRoutes(getDeps));

export const handler = createAdminBalanceHandler();
