// Starts tenancy in-process on a free port, for its own tests, end-to-end tests and other services' tests.
// Logs are silent unless LOG_LEVEL is set.
import { type AccessTokenVerifier, createLogger, type MailTransport, type RunningService } from '@taskflow/shared';
import { loadTenancyConfig } from '../src/config';
import { startTenancyService } from '../src/service';

export interface StartTenancyOptions {
  databaseUrl: string;
  amqpUrl: string;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  serviceToken?: string;
  /** Development mail directory (default: a `.dev-mail` directory in the working directory). */
  mailOutboxDir?: string;
  /** Send mail over SMTP instead of writing files. */
  smtpUrl?: string;
  /** Any transport (overrides smtpUrl and mailOutboxDir). */
  mailTransport?: MailTransport;
  /** First mail retry delay (default 1 s, doubling); tests lower it. */
  mailRetryBaseMs?: number;
  inviteAcceptUrl?: string;
  /** Identity, asked whether a caller's email is verified when the replica does not know yet. */
  identityUrl?: string;
}

export async function startTenancy(options: StartTenancyOptions): Promise<RunningService> {
  const config = loadTenancyConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl,
    AMQP_URL: options.amqpUrl,
    ...(options.serviceToken ? { SERVICE_TOKEN: options.serviceToken } : {}),
    ...(options.mailOutboxDir ? { MAIL_OUTBOX_DIR: options.mailOutboxDir } : {}),
    ...(options.smtpUrl ? { SMTP_URL: options.smtpUrl } : {}),
    ...(options.inviteAcceptUrl ? { INVITE_ACCEPT_URL: options.inviteAcceptUrl } : {}),
    ...(options.identityUrl ? { IDENTITY_URL: options.identityUrl } : {}),
  });
  return startTenancyService(config, createLogger('tenancy', config.LOG_LEVEL), {
    port: 0,
    verifier: options.verifier,
    closeGraceMs: 1000,
    relayPollMs: 200,
    retryDelayMs: 20,
    mailPollMs: 500,
    mailTransport: options.mailTransport,
    mailRetryBaseMs: options.mailRetryBaseMs,
  });
}
