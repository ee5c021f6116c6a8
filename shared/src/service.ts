// How every service starts and stops: one `start<Name>Service(config, logger, options)` composes the
// service and returns what it opened as one `close()`; main.ts and the in-process test starters both call it.
import { AccessTokenVerifier, jwksFromUrl } from './auth/verifier';
import { listen, type RunningServer, shutdownOnSignals } from './http/server';
import { createLogger, type Logger } from './logging';
import { activeTracing, stopTracing } from './tracing/sdk';

export interface RunningService {
  url: string;
  /** Closes in reverse order of opening: the server first (in-flight requests finish), the pool last. */
  close(): Promise<void>;
}

/** Options a test (or a second instance) passes to a service's start function. */
export interface StartOptions {
  /** 0 for any free port (tests); default: the configured PORT. */
  port?: number;
  /** Verifies access tokens; default: identity's JWKS (`verifierFor(config)`). */
  verifier?: Pick<AccessTokenVerifier, 'verify'>;
  /** How long a closing server waits for in-flight requests. */
  closeGraceMs?: number;
  /** Tests shorten the relay's fallback poll and the consumers' retry delay. */
  relayPollMs?: number;
  retryDelayMs?: number;
}

/** What a starting service has opened, to be closed in reverse order, also when start-up fails half-way. */
export class Closers {
  private readonly steps: Array<() => Promise<unknown>> = [];

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  async closeAll(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        /* keep closing the rest */
      }
    }
  }

  /** Runs `start`; on failure closes whatever it had opened and rethrows. */
  async guard<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (err) {
      await this.closeAll();
      throw err;
    }
  }

  /** Listens and returns the running service whose `close()` closes everything added so far. */
  async serve(app: Parameters<typeof listen>[0], port: number, host: string, closeGraceMs?: number): Promise<RunningService> {
    const server: RunningServer = await listen(app, port, host);
    this.add(() => server.close(closeGraceMs));
    return { url: server.url, close: () => this.closeAll() };
  }
}

export interface VerifierConfig {
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  IDENTITY_URL: string;
}

/** Access tokens verified against identity's JWKS. */
export function verifierFor(config: VerifierConfig): AccessTokenVerifier {
  return new AccessTokenVerifier({
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    fetchKeys: jwksFromUrl(`${config.IDENTITY_URL.replace(/\/+$/, '')}/api/v1/auth/jwks/`),
  });
}

/**
 * The whole of a service's main.ts: reads the configuration (an invalid one is reported on stderr,
 * exit 1), starts the service, and closes it on SIGTERM or SIGINT within 10 s.
 */
export function runService<C extends { LOG_LEVEL: string }>(
  name: string,
  loadConfig: () => C,
  start: (config: C, logger: Logger) => Promise<RunningService>,
): void {
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const logger = createLogger(name, config.LOG_LEVEL);
  const tracing = activeTracing();
  if (tracing) logger.info({ endpoint: tracing.endpoint, protocol: tracing.protocol, service_name: tracing.serviceName }, 'tracing on: exporting spans over OTLP');
  start(config, logger).then(
    (service) => {
      logger.info({ url: service.url }, `${name} listening`);
      // Spans still buffered are flushed last, after the requests and events that made them.
      shutdownOnSignals(logger, [() => service.close(), () => stopTracing()]);
    },
    (err: unknown) => {
      logger.fatal({ err }, `${name} failed to start`);
      process.exitCode = 1;
    },
  );
}
