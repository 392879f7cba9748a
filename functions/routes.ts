/**
 * The route table: the single source for the CDK HTTP API and the local API Gateway emulation.
 * `auth: false` routes have no JWT authorizer (health, OpenAPI, the Stripe webhook, the page).
 */
export type ApiFunctionName =
  | 'meta'
  | 'rifts'
  | 'release'
  | 'refund'
  | 'dispute'
  | 'admin-balance'
  | 'stripe-webhook'
  | 'dashboard';
export type ScheduledFunctionName = 'balance-monitor' | 'reconciler';
export type FunctionName = ApiFunctionName | ScheduledFunctionName;

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  fn: ApiFunctionName;
  auth: boolean;
}

export const ROUTES: readonly RouteDef[] = [
  { method: 'GET', path: '/api/health', fn: 'meta', auth: false },
  { method: 'GET', path: '/api/openapi.json', fn: 'meta', auth: false },
  { method: 'POST', path: '/api/rifts', fn: 'rifts', auth: true },
  { method: 'GET', path: '/api/rifts', fn: 'rifts', auth: true },
  { method: 'GET', path: '/api/rifts/{riftId}', fn: 'rifts', auth: true },
  { method: 'POST', path: '/api/rifts/{riftId}/fund', fn: 'rifts', auth: true },
  { method: 'GET', path: '/api/rifts/{riftId}/events', fn: 'rifts', auth: true },
  { method: 'POST', path: '/api/rifts/{riftId}/milestones/{index}/release', fn: 'release', auth: true },
  { method: 'POST', path: '/api/rifts/{riftId}/refunds', fn: 'refund', auth: true },
  { method: 'POST', path: '/api/rifts/{riftId}/disputes', fn: 'dispute', auth: true },
  { method: 'POST', path: '/api/rifts/{riftId}/disputes/resolve', fn: 'dispute', auth: true },
  { method: 'POST', path: '/api/webhooks/stripe', fn: 'stripe-webhook', auth: false },
  { method: 'GET', path: '/api/admin/stripe-balance', fn: 'admin-balance', auth: true },
  { method: 'POST', path: '/api/admin/stripe-balance', fn: 'admin-balance', auth: true },
  { method: 'GET', path: '/api/admin/stripe-balance/history', fn: 'admin-balance', auth: true },
  { method: 'GET', path: '/api/admin/alerts', fn: 'admin-balance', auth: true },
  { method: 'GET', path: '/api/admin/thresholds', fn: 'admin-balance', auth: true },
  { method: 'PUT', path: '/api/admin/thresholds', fn: 'admin-balance', auth: true },
  { method: 'GET', path: '/admin/stripe-balance', fn: 'dashboard', auth: false },
];

export const routeKey = (r: Pick<RouteDef, 'method' | 'path'>) => `${r.method} ${r.path}`;

/**
 * What each function needs; the CDK stack grants exactly this (least privilege) and the
 * benchmarks check the bundles agree (no Stripe SDK where stripe=false, no SES where mail=false).
 */
export interface FunctionSpec {
  entry: string;
  table: 'none' | 'read' | 'readWrite';
  stripe: boolean;
  webhookSecret: boolean;
  mail: boolean;
  timeoutSeconds: number;
  /** Functions this one may invoke (admin-balance runs the monitor on demand; only the monitor may send mail). */
  invokes?: FunctionName[];
}

export const FUNCTIONS: Record<FunctionName, FunctionSpec> = {
  meta: { entry: 'functions/api/meta.ts', table: 'none', stripe: false, webhookSecret: false, mail: false, timeoutSeconds: 5 },
  rifts: { entry: 'functions/api/rifts.ts', table: 'readWrite', stripe: true, webhookSecret: false, mail: false, timeoutSeconds: 29 },
  release: { entry: 'functions/api/release.ts', table: 'readWrite', stripe: true, webhookSecret: false, mail: false, timeoutSeconds: 29 },
  refund: { entry: 'functions/api/refund.ts', table: 'readWrite', stripe: true, webhookSecret: false, mail: false, timeoutSeconds: 29 },
  dispute: { entry: 'functions/api/dispute.ts', table: 'readWrite', stripe: true, webhookSecret: false, mail: false, timeoutSeconds: 29 },
  'admin-balance': { entry: 'functions/api/admin-balance.ts', table: 'readWrite', stripe: true, webhookSecret: false, mail: false, timeoutSeconds: 29, invokes: ['balance-monitor'] },
  'stripe-webhook': { entry: 'functions/api/stripe-webhook.ts', table: 'readWrite', stripe: false, webhookSecret: true, mail: false, timeoutSeconds: 29 },
  dashboard: { entry: 'functions/api/dashboard.ts', table: 'none', stripe: false, webhookSecret: false, mail: false, timeoutSeconds: 5 },
  'balance-monitor': { entry: 'functions/scheduled/balance-monitor.ts', table: 'readWrite', stripe: true, webhookSecret: false, mail: true, timeoutSeconds: 60 },
  reconciler: { entry: 'functions/scheduled/reconciler.ts', table: 'readWrite', stripe: true, webhookSecret: false, mail: false, timeoutSeconds: 120 },
};

export const SCHEDULES: Record<ScheduledFunctionName, { rateMinutes: number }> = {
  'balance-monitor': { rateMinutes: 30 },
  reconciler: { rateMinutes: 5 },
};
