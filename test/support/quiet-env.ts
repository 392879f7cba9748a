/** Imported first by the fault/simulation helpers: quiet handler logs unless LOG_LEVEL is set. */
process.env.LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
