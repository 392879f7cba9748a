/**
 * `npm run stripe-emulator`: the emulator alone.
 * STRIPE_EMULATOR_PORT (default 12111), WEBHOOK_URL (optional), STRIPE_WEBHOOK_SECRET (default whsec_local).
 */
import { startStripeEmulator } from './index';

const port = Number(process.env.STRIPE_EMULATOR_PORT ?? 12111);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`STRIPE_EMULATOR_PORT must be a port number, got '${process.env.STRIPE_EMULATOR_PORT}'`);
  process.exit(1);
}

try {
  const emulator = await startStripeEmulator({
    port,
    webhookUrl: process.env.WEBHOOK_URL || undefined,
    webhookSecret: process.env.STRIPE_WEBHOOK_SECRET || 'whsec_local',
  });
  const hooks = process.env.WEBHOOK_URL ? `, webhooks -> ${process.env.WEBHOOK_URL}` : '';
  console.log(`Stripe emulator listening on ${emulator.url}${hooks}`);
  const stop = () => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  console.error(
    err.code === 'EADDRINUSE'
      ? `Stripe emulator: port ${port} is in use: set STRIPE_EMULATOR_PORT to another port`
      : `Stripe emulator failed to start: ${err.message}`,
  );
  process.exit(1);
}
