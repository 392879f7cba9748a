import { Logger } from '@aws-lambda-powertools/logger';

/** One logger per process. Never log events, tokens or Stripe keys: only ids and outcomes. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'rift', logLevel: (process.env.LOG_LEVEL as 'INFO') ?? 'INFO' });
