// The BUILT services as real processes, REPLICAS of each backend and two gateways, on distinct loopback
// ports against one fresh database, one vhost and Redis: what `npm run test:scale` proves things on.
// The gateways are given every replica's URL (comma-separated); the services reach each other through
// one URL per service, a small TCP balancer here standing in for a Kubernetes Service (the next live
// replica takes each connection). Readiness is awaited by polling /readyz; `stop()` kills everything,
// drops the database, the vhost and the Redis keys, and is safe after a partial start.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { createTestDatabase, createTestVhost, freePort, testInfra, testRedisUrl, type TestDatabase, type TestVhost, uniqueName } from '@taskflow/shared/testing';
import { type Exit, releaseAll, ServiceProcesses } from '../faults/processes';

/** Each backend service and the variable through which the others (and the gateway) find it: one line per service. */
export const BACKENDS = [
  { service: 'identity', urlVariable: 'IDENTITY_URL' },
  { service: 'tenancy', urlVariable: 'TENANCY_URL' },
  { service: 'work', urlVariable: 'WORK_URL' },
  { service: 'audit', urlVariable: 'AUDIT_URL' },
  { service: 'webhooks', urlVariable: 'WEBHOOKS_URL' },
] as const;
export type BackendName = (typeof BACKENDS)[number]['service'];
export type ServiceName = BackendName | 'gateway';

export const REPLICAS = 2;
const START_TIMEOUT_MS = 150_000;
const STOP_TIMEOUT_MS = 12_000;
const LOG_LINES_KEPT = 2000;

/** One process: `work-1`, `work-2`, `gateway-1`, ... */
export interface Instance {
  name: string;
  service: ServiceName;
  url: string;
  /** The gateway's Prometheus endpoint (METRICS_PORT); undefined for the backends. */
  metricsUrl?: string;
}

export interface ScaleCluster {
  /** Every process, backends first (in BACKENDS order, replica by replica), then the gateways. */
  instances: Instance[];
  gateways: Instance[];
  replicasOf(service: ServiceName): Instance[];
  database: TestDatabase;
  vhost: TestVhost;
  mailDir: string;
  /** Sends `signal` and resolves when the process has exited (SIGKILL after 15 s). */
  kill(name: string, signal?: NodeJS.Signals): Promise<Exit>;
  /** Starts `name` again on its port and resolves once its /readyz answers 200. */
  restart(name: string): Promise<void>;
  running(name: string): boolean;
  logs(name: string, last?: number): string[];
  stop(): Promise<void>;
}

/** A TCP balancer: each connection goes to the next target that accepts it (a refused one is skipped). */
async function startBalancer(targets: () => number[]): Promise<{ port: number; close(): Promise<void> }> {
  let turn = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const ports = targets();
    turn += 1;
    const attempt = (i: number) => {
      if (i >= ports.length) return client.destroy();
      const upstream = net.connect(ports[(turn + i) % ports.length]!, '127.0.0.1');
      upstream.once('error', () => attempt(i + 1));
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface ScaleClusterOptions {
  /** Added to both gateways' environment (e.g. tighter rate limits). */
  gatewayEnv?: Record<string, string>;
  logLevel?: string;
}

export async function startScaleCluster(options: ScaleClusterOptions = {}): Promise<ScaleCluster> {
  const procs = new ServiceProcesses({ linesKept: LOG_LINES_KEPT });
  procs.requireBuilt([...BACKENDS.map((b) => b.service), 'gateway']);
  testInfra(); // fails at once, with instructions, when TEST_DATABASE_URL / TEST_AMQP_URL are missing

  const taken = new Set<number>();
  const port = async () => {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    return p;
  };
  const instances: Instance[] = [];
  const ports = new Map<string, { port: number; metricsPort?: number }>();
  for (const { service } of BACKENDS) {
    for (let i = 1; i <= REPLICAS; i += 1) {
      const p = await port();
      ports.set(`${service}-${i}`, { port: p });
      instances.push({ name: `${service}-${i}`, service, url: `http://127.0.0.1:${p}` });
    }
  }
  for (let i = 1; i <= 2; i += 1) {
    const [p, metricsPort] = [await port(), await port()];
    ports.set(`gateway-${i}`, { port: p, metricsPort });
    instances.push({ name: `gateway-${i}`, service: 'gateway', url: `http://127.0.0.1:${p}`, metricsUrl: `http://127.0.0.1:${metricsPort}` });
  }
  const replicasOf = (service: ServiceName) => instances.filter((i) => i.service === service);
  const byName = (name: string) => {
    const found = instances.find((i) => i.name === name);
    if (!found) throw new Error(`no instance ${name}`);
    return found;
  };

  const balancers: Array<{ port: number; close(): Promise<void> }> = [];
  const keyPrefix = `${uniqueName('tf_scale')}:`;
  let database: TestDatabase | undefined;
  let vhost: TestVhost | undefined;
  let mailDir: string | undefined;
  let stopped = false;

  const isRunning = (name: string) => procs.running(name);

  // Where services find each other: the balancer of each backend (over its running replicas).
  const internalUrls: Record<string, string> = {};
  const envOf = (instance: Instance): NodeJS.ProcessEnv => {
    const common = {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      LOG_LEVEL: options.logLevel ?? 'info',
      HOST: '127.0.0.1',
      PORT: String(ports.get(instance.name)!.port),
    };
    if (instance.service !== 'gateway') {
      return { ...common, ...internalUrls, DATABASE_URL: database!.url, AMQP_URL: vhost!.url, MAIL_OUTBOX_DIR: mailDir! };
    }
    return {
      ...common,
      ...Object.fromEntries(BACKENDS.map((b) => [b.urlVariable, replicasOf(b.service).map((r) => r.url).join(',')])),
      METRICS_PORT: String(ports.get(instance.name)!.metricsPort),
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: keyPrefix,
      // Clients name their address in X-Forwarded-For (one trusted proxy), so tests keep their limits apart.
      TRUST_PROXY: 'true',
      WRITE_RATE_LIMIT_PER_MINUTE: '100000',
      BREAKER_RESET_MS: '1000',
      ...options.gatewayEnv,
    };
  };

  /**
   * Starts `name` and waits for its /readyz. PostgreSQL is shared with other test runs on this machine:
   * a start refused for want of connections ("too many clients") is tried again, a few times.
   */
  const start = async (name: string) => {
    const instance = byName(name);
    const lines = procs.logLines(name);
    for (let attempt = 1; ; attempt += 1) {
      const from = lines.length;
      try {
        await procs.start(name, instance.service, envOf(instance), { url: instance.url, timeoutMs: START_TIMEOUT_MS });
        return;
      } catch (err) {
        const starved = lines.slice(from).some((l) => l.includes('too many clients'));
        if (!starved || attempt >= 5) throw err;
        await procs.exited(name);
      }
    }
  };

  const kill = (name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> => procs.kill(name, signal);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Gateways first, then the backends.
    for (const group of [instances.filter((i) => i.service === 'gateway'), instances.filter((i) => i.service !== 'gateway')]) {
      await procs.terminate(
        group.map((i) => i.name),
        STOP_TIMEOUT_MS,
      );
    }
    procs.release();
    const dropKeys = async () => {
      const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        const keys = await redis.keys(`${keyPrefix}*`);
        if (keys.length) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
    };
    await releaseAll([
      () => Promise.all(balancers.map((b) => b.close())),
      () => database?.drop(),
      () => vhost?.drop(),
      () => (mailDir ? rm(mailDir, { recursive: true, force: true }) : undefined),
      dropKeys,
    ]);
  };

  try {
    database = await createTestDatabase('scale');
    vhost = await createTestVhost('scale');
    mailDir = await mkdtemp(path.join(tmpdir(), 'taskflow-scale-mail-'));
    for (const { service, urlVariable } of BACKENDS) {
      const targets = () => replicasOf(service).map((r) => ports.get(r.name)!.port);
      const balancer = await startBalancer(targets);
      balancers.push(balancer);
      internalUrls[urlVariable] = `http://127.0.0.1:${balancer.port}`;
    }
    // Every replica of every backend at once, on the empty database: each migrates (or waits for the one that does).
    await Promise.all(instances.filter((i) => i.service !== 'gateway').map((i) => start(i.name)));
    await Promise.all(replicasOf('gateway').map((g) => start(g.name)));
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  return {
    instances,
    gateways: replicasOf('gateway'),
    replicasOf,
    database: database!,
    vhost: vhost!,
    mailDir: mailDir!,
    kill,
    restart: start,
    running: isRunning,
    logs: (name, last = 200) => procs.logLines(name).slice(-last),
    stop,
  };
}
