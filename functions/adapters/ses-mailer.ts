/**
 * The mail port and its SES v2 adapter. Only the balance-monitor function holds `ses:SendEmail`
 * (see `FUNCTIONS` in routes.ts); everything else imports the `Mailer` type at most.
 * Locally `SES_ENDPOINT` points at aws-ses-v2-local (any region, dummy credentials).
 */
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { Config } from './config';

export interface MailMessage {
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
}

export interface Mailer {
  /** Resolves with the provider's message id; rejects when the mail was not accepted. */
  send(message: MailMessage): Promise<{ messageId?: string }>;
}

let cached: { key: string; client: SESv2Client } | undefined;

export function sesClient(config: Pick<Config, 'region' | 'sesEndpoint'>): SESv2Client {
  const key = `${config.region}|${config.sesEndpoint ?? ''}`;
  if (!cached || cached.key !== key) {
    cached = {
      key,
      client: new SESv2Client({
        region: config.region,
        ...(config.sesEndpoint ? { endpoint: config.sesEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
      }),
    };
  }
  return cached.client;
}

export function createSesMailer(client: SESv2Client): Mailer {
  return {
    async send(m) {
      const out = await client.send(
        new SendEmailCommand({
          FromEmailAddress: m.from,
          Destination: { ToAddresses: m.to },
          Content: {
            Simple: {
              Subject: { Data: m.subject, Charset: 'UTF-8' },
              Body: { Html: { Data: m.html, Charset: 'UTF-8' }, Text: { Data: m.text, Charset: 'UTF-8' } },
            },
          },
        }),
      );
      return { messageId: out.MessageId };
    },
  };
}
