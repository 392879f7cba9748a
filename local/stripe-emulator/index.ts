/**
 * The project's Stripe emulator: Stripe's wire format for what Rift uses, spoken to by the real
 * `stripe` SDK (`host/port/protocol`). See README.md in this folder.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmulatorCore } from './server';

export interface StripeEmulatorOptions {
  /** 0 or undefined = a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  webhookUrl?: string;
  /** Default 'whsec_local'. */
  webhookSecret?: string;
}

export interface StripeEmulator {
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
  reset(): void;
  setWebhookUrl(url: string | undefined): void;
}

export async function startStripeEmulator(opts: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const core = new EmulatorCore(opts.webhookUrl, opts.webhookSecret ?? 'whsec_local');
  const server = http.createServer(core.listener);
  // Short keep-alive so idle SDK sockets don't linger; close() drops them anyway.
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    port,
    url: `http://${urlHost}:${port}`,
    reset: () => core.reset(),
    setWebhookUrl: (url) => {
      core.webhooks.url = url;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        core.close();
        server.close(() => resolve());
        // Hanging (fault) and keep-alive connections would otherwise hold close() open.
        server.closeAllConnections();
      })),
  };
}
