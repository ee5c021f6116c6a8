// Listening and graceful shutdown: stop accepting, finish in-flight requests, close pools, exit in time.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Logger } from '../logging';

export interface RunningServer {
  server: http.Server;
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (at most `graceMs`), then drops what is left. */
  close(graceMs?: number): Promise<void>;
}

export interface ListenOptions {
  /**
   * A request's headers and its body must both have arrived within this (default 30 s), else 408 and the
   * socket is closed: a slow client holds a connection at most this plus one check interval.
   */
  requestTimeoutMs?: number;
}

export async function listen(app: Koa, port: number, host = '127.0.0.1', options: ListenOptions = {}): Promise<RunningServer> {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const server = http.createServer(
    {
      requestTimeout,
      headersTimeout: requestTimeout,
      // Node enforces both timeouts only when it checks (30 s by default): check often enough to keep the bound.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeout / 4))),
    },
    app.callback(),
  );
  // Idle time between requests, longer than the gateway agent's, so a reused keep-alive socket is never closed under it.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    server,
    port: actualPort,
    url: `http://${host}:${actualPort}`,
    close: (graceMs = 8000) =>
      new Promise<void>((resolve) => {
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(deadline);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** How long a stopping service may take before it exits anyway (deployments size their grace period on it). */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * On SIGTERM or SIGINT runs `steps` in order (close the server first, then consumers, then pools)
 * and exits; exits non-zero if that takes longer than `timeoutMs`.
 */
export function shutdownOnSignals(logger: Logger, steps: Array<() => Promise<unknown>>, timeoutMs = SHUTDOWN_TIMEOUT_MS): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long, exiting');
      process.exit(1);
    }, timeoutMs).unref();
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        logger.error({ err }, 'shutdown step failed');
      }
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
