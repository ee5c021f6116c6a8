// The BUILT services (services/<name>/dist/main.js) as real child processes on free loopback ports,
// against a fresh database and vhost, for fault tests: kill one with any signal, restart it, read its
// logs. Readiness is awaited by polling /readyz, never by fixed sleeps. `stop()` kills everything and
// drops the database and the vhost; it is safe to call after a partial start or a failed test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, createTestVhost, freePort, testInfra, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';
import { type Exit, releaseAll, ServiceProcesses } from './processes';

export type { Exit };

export const SERVICES = ['identity', 'tenancy', 'work', 'audit', 'webhooks', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];
const BACKENDS = ['identity', 'tenancy', 'work', 'audit', 'webhooks'] as const;

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 12_000;
const LOG_LINES_KEPT = 3000;

export interface Cluster {
  /** The gateway: what clients use. */
  url: string;
  /** The gateway's Prometheus /metrics (METRICS_PORT, off the public port). */
  metricsUrl: string;
  urls: Record<ServiceName, string>;
  database: TestDatabase;
  vhost: TestVhost;
  /** Sends `signal` and resolves when the process has exited (SIGKILL after 15 s so nothing lingers). */
  kill(name: ServiceName, signal?: NodeJS.Signals): Promise<Exit>;
  /** Starts `name` again on its port and resolves once its /readyz answers 200. */
  restart(name: ServiceName): Promise<void>;
  running(name: ServiceName): boolean;
  /** The last lines the service wrote (stdout and stderr, every incarnation). */
  logs(name: ServiceName, last?: number): string[];
  /** Kills every process, drops the database and the vhost. Idempotent. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  gatewayEnv?: Record<string, string>;
  /** Set in every service's environment (e.g. OTEL_EXPORTER_OTLP_ENDPOINT). */
  env?: Record<string, string>;
  /** How long each service may take to answer /readyz (default 30 s). */
  startTimeoutMs?: number;
  logLevel?: string;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const procs = new ServiceProcesses({ linesKept: LOG_LINES_KEPT });
  procs.requireBuilt(SERVICES);
  testInfra(); // fails at once, with instructions, when TEST_DATABASE_URL / TEST_AMQP_URL are missing

  let database: TestDatabase | undefined;
  let vhost: TestVhost | undefined;
  let mailDir: string | undefined;
  let stopped = false;

  const ports = {} as Record<ServiceName, number>;
  const taken = new Set<number>();
  for (const name of SERVICES) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports[name] = port;
  }
  const urls = Object.fromEntries(SERVICES.map((n) => [n, `http://127.0.0.1:${ports[n]}`])) as Record<ServiceName, string>;
  let metricsPort = await freePort();
  while (taken.has(metricsPort)) metricsPort = await freePort();

  const envOf = (name: ServiceName): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    NODE_ENV: 'development',
    LOG_LEVEL: options.logLevel ?? 'info',
    HOST: '127.0.0.1',
    PORT: String(ports[name]),
    DATABASE_URL: database!.url,
    AMQP_URL: vhost!.url,
    IDENTITY_URL: urls.identity,
    TENANCY_URL: urls.tenancy,
    WORK_URL: urls.work,
    AUDIT_URL: urls.audit,
    WEBHOOKS_URL: urls.webhooks,
    // Fault tests deliver to receivers on loopback.
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    MAIL_OUTBOX_DIR: mailDir!,
    ...options.env,
    ...(name === 'gateway'
      ? {
          AUTH_RATE_LIMIT_PER_MINUTE: '100000',
          LOGIN_FAILURE_LIMIT: '1000',
          WRITE_RATE_LIMIT_PER_MINUTE: '100000',
          METRICS_PORT: String(metricsPort),
          UPSTREAM_TIMEOUT_MS: '5000',
          BREAKER_RESET_MS: '1000',
          ...options.gatewayEnv,
        }
      : {}),
  });

  const isRunning = (name: ServiceName) => procs.running(name);

  const start = (name: ServiceName) => procs.start(name, name, envOf(name), { url: urls[name], timeoutMs: options.startTimeoutMs ?? START_TIMEOUT_MS });

  const kill = (name: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> => procs.kill(name, signal);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // A quick SIGTERM to every process, SIGKILL for anything still there.
    await procs.terminate([...SERVICES], STOP_TIMEOUT_MS);
    procs.release();
    await releaseAll([() => database?.drop(), () => vhost?.drop(), () => (mailDir ? rm(mailDir, { recursive: true, force: true }) : undefined)]);
  };

  try {
    database = await createTestDatabase('faults');
    vhost = await createTestVhost('faults');
    mailDir = await mkdtemp(path.join(tmpdir(), 'taskflow-faults-mail-'));
    // The backends together (the others fetch identity's keys lazily, on the first token), then the gateway.
    await Promise.all(BACKENDS.map(start));
    await start('gateway');
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  return {
    url: urls.gateway,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    urls,
    database: database!,
    vhost: vhost!,
    kill,
    restart: start,
    running: isRunning,
    logs: (name, last = 200) => procs.logLines(name).slice(-last),
    stop,
  };
}

export const backendNames = BACKENDS;
