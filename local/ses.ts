/**
 * SES for the local stack: aws-ses-v2-local, in-process. Mail sent through its endpoint
 * (`SES_ENDPOINT`, any region and dummy credentials) is kept in memory and readable at
 * `GET /store`; its root serves a mail viewer.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SesLocal {
  port: number;
  url: string;
  close(): Promise<void>;
}

type SesServerFn = (config?: { host?: string; port?: number }) => Promise<Server>;

export async function startSesLocal(opts: { port: number; host?: string }): Promise<SesLocal> {
  // CommonJS with `exports.default`: depending on the loader the function sits at one level or two.
  const mod = (await import('aws-ses-v2-local')) as unknown as { default: SesServerFn | { default: SesServerFn } };
  const start: SesServerFn = typeof mod.default === 'function' ? mod.default : mod.default.default;
  const host = opts.host ?? '127.0.0.1';
  // On a bind error express 5 calls the listen callback with the error and aws-ses-v2-local
  // resolves anyway, with a server that is not listening: detect that.
  const server = await start({ host, port: opts.port });
  if (!server.listening || !server.address()) {
    server.close();
    throw new Error(`port ${opts.port} is in use or unavailable: set SES_PORT to another port`);
  }
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
      return closing;
    },
  };
}

export interface StoredEmail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { text?: string; html?: string };
  attachments: unknown[];
  at: number;
}

/** The mail aws-ses-v2-local has received (`GET /store`), optionally since an epoch second. */
export async function readMail(sesUrl: string, sinceEpochSeconds?: number): Promise<StoredEmail[]> {
  const res = await fetch(`${sesUrl}/store${sinceEpochSeconds !== undefined ? `?since=${sinceEpochSeconds}` : ''}`);
  if (!res.ok) throw new Error(`SES store answered ${res.status}`);
  const body = (await res.json()) as { emails: StoredEmail[] };
  return body.emails;
}

/** Empties the SES store (`POST /clear-store`). */
export async function clearMail(sesUrl: string): Promise<void> {
  const res = await fetch(`${sesUrl}/clear-store`, { method: 'POST' });
  if (!res.ok) throw new Error(`SES clear-store answered ${res.status}`);
}
