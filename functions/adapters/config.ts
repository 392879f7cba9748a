/**
 * Configuration from the environment, the same names in Lambda and in the local stack.
 * In AWS the Stripe keys come from Secrets Manager (`*_SECRET_ARN`); locally they come
 * straight from the environment (`STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`).
 */
export interface Config {
  tableName: string;
  region: string;
  dynamodbEndpoint?: string;
  stripe: {
    secretKey?: string;
    secretArn?: string;
    webhookSecret?: string;
    webhookSecretArn?: string;
    /** The emulator: `STRIPE_API_HOST`/`STRIPE_API_PORT`/`STRIPE_API_PROTOCOL`. */
    host?: string;
    port?: number;
    protocol?: 'http' | 'https';
    timeoutMs: number;
    maxNetworkRetries: number;
  };
  sesEndpoint?: string;
  adminEmail: string;
  alertFromEmail: string;
  alertRepeatHours: number;
  balanceThresholdsJson?: string;
  balanceMonitorFunctionName?: string;
  localInvokeUrl?: string;
}

const num = (v: string | undefined, dflt: number) => {
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isFinite(n) ? n : dflt;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    tableName: env.TABLE_NAME ?? 'rift',
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    stripe: {
      secretKey: env.STRIPE_SECRET_KEY || undefined,
      secretArn: env.STRIPE_SECRET_ARN || undefined,
      webhookSecret: env.STRIPE_WEBHOOK_SECRET || undefined,
      webhookSecretArn: env.STRIPE_WEBHOOK_SECRET_ARN || undefined,
      host: env.STRIPE_API_HOST || undefined,
      port: env.STRIPE_API_PORT ? Number(env.STRIPE_API_PORT) : undefined,
      protocol: env.STRIPE_API_PROTOCOL === 'http' ? 'http' : env.STRIPE_API_HOST ? 'http' : undefined,
      timeoutMs: num(env.STRIPE_TIMEOUT_MS, 10_000),
      // The service retries Stripe itself (same idempotency key) once for a transient failure.
      maxNetworkRetries: num(env.STRIPE_MAX_NETWORK_RETRIES, 1),
    },
    sesEndpoint: env.SES_ENDPOINT || undefined,
    adminEmail: env.ADMIN_EMAIL ?? 'admin@rift.local',
    alertFromEmail: env.ALERT_FROM_EMAIL ?? 'alerts@rift.local',
    alertRepeatHours: num(env.ALERT_REPEAT_HOURS, 6),
    balanceThresholdsJson: env.BALANCE_THRESHOLDS || undefined,
    balanceMonitorFunctionName: env.BALANCE_MONITOR_FUNCTION_NAME || undefined,
    localInvokeUrl: env.LOCAL_INVOKE_URL || undefined,
  };
}
