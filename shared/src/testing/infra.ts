// Finds the PostgreSQL and RabbitMQ that tests use: TEST_* URLs, else Docker via testcontainers, else a clear failure.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Client } from 'pg';

export interface TestInfra {
  /** Admin connection URL (any database on the server; tests create their own). */
  databaseUrl: string;
  amqpUrl: string;
  /** RabbitMQ management API base URL, for a vhost per test file. */
  managementUrl?: string;
}

const HOW_TO =
  'Tests need a real PostgreSQL 15 and RabbitMQ 3: none answered on 127.0.0.1:5432 and 5672 and no Docker engine answered. ' +
  'Start them (bash .ci/run does), or set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) ' +
  'and TEST_AMQP_URL (e.g. amqp://guest:guest@127.0.0.1:5672), or run a Docker engine so testcontainers can start them.';

function dockerAnswers(timeoutMs = 2000): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const options: http.RequestOptions =
    host && host.startsWith('tcp://')
      ? { host: new URL(host.replace('tcp://', 'http://')).hostname, port: Number(new URL(host.replace('tcp://', 'http://')).port || 2375) }
      : { socketPath: host?.startsWith('unix://') ? host.slice(7) : '/var/run/docker.sock' };
  return new Promise((resolve) => {
    const req = http.get({ ...options, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
  });
}

type Stop = () => Promise<void>;

/** PostgreSQL and RabbitMQ on their default local ports, as `npm start` uses them: the URLs when both answer. */
async function localServers(): Promise<{ databaseUrl: string; amqpUrl: string; managementUrl: string; managementUp: boolean } | undefined> {
  const databaseUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
  const amqpUrl = 'amqp://guest:guest@127.0.0.1:5672';
  const managementUrl = 'http://127.0.0.1:15672';
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
  const amqpUp = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: 5672, timeout: 2000 }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
  if (!amqpUp) return undefined;
  const managementUp = await fetch(`${managementUrl}/api/overview`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    signal: AbortSignal.timeout(2000),
  }).then(
    (res) => res.ok,
    () => false,
  );
  return { databaseUrl, amqpUrl, managementUrl, managementUp };
}

/**
 * Called once per test run (jest globalSetup). Uses TEST_DATABASE_URL and TEST_AMQP_URL when set,
 * else a Docker engine (testcontainers), else PostgreSQL and RabbitMQ on their default local ports;
 * leaves the TEST_* variables set for the workers and returns a function that stops what it started.
 */
export async function provideTestInfra(): Promise<Stop> {
  if (process.env.TEST_DATABASE_URL && process.env.TEST_AMQP_URL) return async () => undefined;
  if (!(await dockerAnswers())) {
    const local = await localServers();
    if (!local) throw new Error(HOW_TO);
    if (!local.managementUp) {
      throw new Error(
        'Tests create a RabbitMQ vhost per test file through the management API, which does not answer on 127.0.0.1:15672. ' +
          'Enable it with `rabbitmq-plugins enable rabbitmq_management` (bash .ci/run does), or set TEST_AMQP_URL and TEST_RABBITMQ_MANAGEMENT_URL.',
      );
    }
    process.env.TEST_DATABASE_URL = local.databaseUrl;
    process.env.TEST_AMQP_URL = local.amqpUrl;
    process.env.TEST_RABBITMQ_MANAGEMENT_URL = local.managementUrl;
    return async () => undefined;
  }
  // Loaded lazily: importing testcontainers with a socket that never answers hangs forever.
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
  const [pg, mq] = await Promise.all([
    new PostgreSqlContainer('postgres:15').withUsername('postgres').withPassword('postgres').start(),
    new RabbitMQContainer('rabbitmq:3-management').start(),
  ]);
  process.env.TEST_DATABASE_URL = `postgres://postgres:postgres@${pg.getHost()}:${pg.getPort()}/postgres`;
  process.env.TEST_AMQP_URL = mq.getAmqpUrl();
  process.env.TEST_RABBITMQ_MANAGEMENT_URL = `http://${mq.getHost()}:${mq.getMappedPort(15672)}`;
  return async () => {
    await Promise.all([pg.stop(), mq.stop()]);
  };
}

export function testInfra(): TestInfra {
  const databaseUrl = process.env.TEST_DATABASE_URL;
  const amqpUrl = process.env.TEST_AMQP_URL;
  if (!databaseUrl || !amqpUrl) throw new Error(HOW_TO);
  const amqp = new URL(amqpUrl);
  return {
    databaseUrl,
    amqpUrl,
    managementUrl: process.env.TEST_RABBITMQ_MANAGEMENT_URL ?? `http://${amqp.hostname}:15672`,
  };
}

/**
 * The Redis that tests of shared rate limits use: TEST_REDIS_URL, else the local one on its default
 * port (`.ci/run` starts it). Isolate a test file with a unique key prefix, e.g. `uniqueName('tf_test')`.
 */
export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`.toLowerCase();
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database on the test server, for one test file. */
export async function createTestDatabase(prefix = 'tf_test'): Promise<TestDatabase> {
  const { databaseUrl } = testInfra();
  const name = uniqueName(prefix);
  const admin = new Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new Client({ connectionString: databaseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface TestVhost {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh RabbitMQ vhost for one test file, through the management API. */
export async function createTestVhost(prefix = 'tf_test'): Promise<TestVhost> {
  const { amqpUrl, managementUrl } = testInfra();
  const amqp = new URL(amqpUrl);
  const user = decodeURIComponent(amqp.username || 'guest');
  const auth = `Basic ${Buffer.from(`${user}:${decodeURIComponent(amqp.password || 'guest')}`).toString('base64')}`;
  const name = uniqueName(prefix);
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${managementUrl}/api${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok && res.status !== 404) throw new Error(`RabbitMQ management ${method} ${path}: ${res.status}`);
  };
  await api('PUT', `/vhosts/${name}`);
  await api('PUT', `/permissions/${name}/${encodeURIComponent(user)}`, { configure: '.*', write: '.*', read: '.*' });
  amqp.pathname = `/${name}`;
  return { url: amqp.toString(), name, drop: () => api('DELETE', `/vhosts/${name}`) };
}
