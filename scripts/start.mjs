// `npm start` (after `npm run build`): checks PostgreSQL and RabbitMQ, creates the database if
// missing, starts every built service (gateway last) with prefixed logs, stops them all on
// SIGINT/SIGTERM or when one of them dies. Plain Node, no build step.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// TASKFLOW_SERVICES_DIR: run another set of services (used to try this script with fakes).
const SERVICES_DIR = path.resolve(ROOT, process.env.TASKFLOW_SERVICES_DIR ?? 'services');
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/taskflow';
const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const HOST = process.env.HOST || '127.0.0.1';
/** Each service's port: `<NAME>_PORT`, else `PORT_BASE` + its offset (identity 4001 ... webhooks 4005 with the default 4000). */
const PORT_OFFSETS = { identity: 1, tenancy: 2, work: 3, audit: 4, webhooks: 5 };
const portVariable = (name) => `${name.toUpperCase()}_PORT`;
function configuredPorts() {
  const read = (variable, fallback) => {
    const raw = process.env[variable];
    if (raw === undefined || raw === '') return fallback;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail([`${variable}=${raw} is not a port (1-65535).`]);
    return port;
  };
  const base = read('PORT_BASE', 4000);
  const ports = Object.fromEntries(Object.entries(PORT_OFFSETS).map(([name, offset]) => [name, read(portVariable(name), base + offset)]));
  ports.gateway = read(portVariable('gateway'), 8080);
  return ports;
}
const PORTS = configuredPorts();
/** An address that reaches, from this machine, servers bound to HOST (a wildcard is reached on loopback). */
const REACH_HOST = HOST === '0.0.0.0' || HOST === '::' ? '127.0.0.1' : HOST;
const URL_HOST = REACH_HOST.includes(':') ? `[${REACH_HOST}]` : REACH_HOST;
const PUBLIC_URL = `http://${URL_HOST}:${PORTS.gateway}`;
/** The gateway serves Prometheus /metrics here, never on its public port. */
const GATEWAY_METRICS_PORT = Number(process.env.METRICS_PORT ?? 9464);
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 12_000;

const COLOURS = [36, 35, 33, 34, 32, 91];
const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
// On a terminal the services' JSON log lines are shown readably; LOG_PRETTY=0 keeps the JSON (as piped output does).
const LOG_PRETTY = process.env.LOG_PRETTY ? process.env.LOG_PRETTY !== '0' : Boolean(process.stdout.isTTY);
const children = new Map(); // name -> ChildProcess (only while running)
let stopping = false;
let prefixWidth = 'taskflow'.length;

const prefix = (name, colour) => {
  const text = `[${name}]`.padEnd(prefixWidth + 2);
  return useColour ? `\x1b[${colour}m${text}\x1b[0m` : text;
};
const say = (msg) => console.log(`${prefix('taskflow', 1)} ${msg}`); // bold: the launcher itself
function fail(lines) { console.error(lines.join('\n')); process.exit(1); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- dependencies reachable? ---------------------------------------------------------
async function checkPostgres() {
  const url = new URL(DATABASE_URL);
  const where = `${url.hostname || 'localhost'}:${url.port || 5432}`;
  const dbName = decodeURIComponent(url.pathname.slice(1));
  if (!dbName) fail([`DATABASE_URL (${where}) must name a database, e.g. .../taskflow`]);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.href, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (err) {
    const unreachable = !err.code || /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN)$/.test(err.code);
    fail(unreachable ? [
      `PostgreSQL is not reachable at ${where} (${err.code ?? err.message}; from DATABASE_URL).`,
      '  Start the local cluster:  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
      '  or run everything in containers:  docker compose up --build',
      '  or set DATABASE_URL to a server you have.',
    ] : [`PostgreSQL at ${where} refused the connection: ${err.message} (check the user/password in DATABASE_URL).`]);
  }
  // --- create the target database if missing -----------------------------------------
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(dbName)}`).catch((err) => {
        if (err.code !== '42P04') throw err; // created concurrently: fine
      });
      say(`created database ${dbName} on ${where}`);
    }
  } catch (err) {
    fail([`PostgreSQL at ${where}: could not check/create database "${dbName}": ${err.message}`]);
  } finally {
    await client.end().catch(() => {});
  }
}

// The port answers; now log in as the services will, so a wrong user/password/vhost is named here.
async function checkRabbitLogin() {
  const { default: amqplib } = await import('amqplib');
  const url = new URL(AMQP_URL);
  const where = `${url.hostname || 'localhost'}:${url.port || 5672}${url.pathname.length > 1 ? url.pathname : ''}`;
  try {
    const connection = await amqplib.connect(AMQP_URL, { timeout: 3000 });
    await connection.close();
  } catch (err) {
    const message = String(err?.message ?? err);
    fail([/ACCESS_REFUSED|403|auth/i.test(message)
      ? `RabbitMQ at ${where} refused the login: check the user and password in AMQP_URL (${message.split('\n')[0]}).`
      : /NOT_ALLOWED|530|vhost/i.test(message)
        ? `RabbitMQ at ${where} refused the virtual host: check the path in AMQP_URL (${message.split('\n')[0]}).`
        : `RabbitMQ at ${where} accepted the connection but not the session: ${message.split('\n')[0]} (from AMQP_URL).`]);
  }
}

function checkRabbit() {
  const url = new URL(AMQP_URL);
  const host = url.hostname || 'localhost';
  const port = Number(url.port) || (url.protocol === 'amqps:' ? 5671 : 5672);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (err) => {
      socket.destroy();
      if (!err) return resolve();
      fail([
        `RabbitMQ is not reachable at ${host}:${port} (${err}; from AMQP_URL).`,
        '  Start the local broker:  rabbitmq-server -detached',
        '  or run everything in containers:  docker compose up --build',
        '  or set AMQP_URL to a broker you have.',
      ]);
    };
    socket.setTimeout(2000, () => done('no answer within 2 s'));
    socket.once('error', (err) => done(err.code ?? err.message));
    socket.once('data', () => done());
    // A broker answers the protocol header (or a TLS listener answers something else: also alive).
    socket.once('connect', () => (url.protocol === 'amqps:' ? done() : socket.write('AMQP\x00\x00\x09\x01', 'latin1')));
  });
}

// --- services ------------------------------------------------------------------------
function discoverServices() {
  const found = [];
  for (const name of readdirSync(SERVICES_DIR).sort()) {
    const dir = path.join(SERVICES_DIR, name);
    if (!existsSync(path.join(dir, 'package.json'))) continue;
    if (!(name in PORTS)) { say(`warning: services/${name} has no known port, skipped`); continue; }
    if (!existsSync(path.join(dir, 'dist/main.js'))) { say(`warning: ${name} is not built (no dist/main.js), skipped`); continue; }
    found.push(name);
  }
  // identity, tenancy, work, audit, webhooks in port order; gateway last.
  return found.sort((a, b) => PORTS[a] - PORTS[b]);
}

const portInUse = (port) => new Promise((resolve) => {
  const s = net.connect({ host: REACH_HOST, port }, () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

function serviceEnv(name) {
  const urls = Object.fromEntries(Object.entries(PORTS).filter(([n]) => n !== 'gateway')
    .map(([n, port]) => [`${n.toUpperCase()}_URL`, `http://${URL_HOST}:${port}`]));
  const metrics = name === 'gateway' ? { METRICS_PORT: String(GATEWAY_METRICS_PORT) } : {};
  // The links in mail point at this gateway unless they were set explicitly.
  const links = {
    VERIFY_EMAIL_URL: `${PUBLIC_URL}/api/v1/auth/verify-email/{token}/`,
    PASSWORD_RESET_URL: `${PUBLIC_URL}/api/v1/auth/password-reset/{token}/`,
    INVITE_ACCEPT_URL: `${PUBLIC_URL}/api/v1/invites/accept/{token}/`,
  };
  return { ...links, ...process.env, DATABASE_URL, AMQP_URL, HOST, ...urls, ...metrics, PORT: String(PORTS[name]) };
}

function startService(name, index) {
  const child = spawn(process.execPath, [path.join(SERVICES_DIR, name, 'dist/main.js')], {
    cwd: ROOT, env: serviceEnv(name), stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: a terminal Ctrl-C reaches only us, we send one SIGTERM
  });
  const tag = prefix(name, COLOURS[index % COLOURS.length]);
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      const text = pretty && line.startsWith('{') ? pretty(line).trimEnd().replaceAll('\n', `\n${tag}   `) : line;
      out.write(`${tag} ${text}\n`);
    });
  }
  children.set(name, child);
  child.once('exit', (code, signal) => {
    children.delete(name);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (stopping) return say(`${name} stopped (${how})`);
    say(`${name} exited unexpectedly (${how}); stopping the others`);
    shutdown(1);
  });
  child.once('error', (err) => {
    children.delete(name);
    say(`${name} could not start: ${err.message}`);
    shutdown(1);
  });
}

const healthy = (port) => new Promise((resolve) => {
  const req = http.get({ host: REACH_HOST, port, path: '/healthz', timeout: 1000 }, (res) => {
    res.resume();
    resolve(res.statusCode === 200);
  });
  req.once('timeout', () => req.destroy());
  req.once('error', () => resolve(false));
});

async function waitHealthy(names) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let pending = [...names];
  while (pending.length && !stopping) {
    const answers = await Promise.all(pending.map((n) => healthy(PORTS[n])));
    pending = pending.filter((_, i) => !answers[i]);
    if (!pending.length || stopping) break;
    if (Date.now() > deadline) {
      say(`${pending.join(', ')} did not answer /healthz within ${START_TIMEOUT_MS / 1000} s; stopping`);
      return shutdown(1);
    }
    await sleep(250);
  }
}

// --- shutdown --------------------------------------------------------------------------
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
  const force = setTimeout(() => {
    for (const [name, child] of children) { say(`${name} still running after ${STOP_TIMEOUT_MS / 1000} s: SIGKILL`); child.kill('SIGKILL'); }
  }, STOP_TIMEOUT_MS);
  while (children.size) await sleep(50);
  clearTimeout(force);
  process.exit(code);
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('exit', () => { for (const child of children.values()) child.kill('SIGKILL'); });

// Queues declared by a deployment from before quorum queues are moved over while no consumer runs.
async function migrateQueues() {
  const { default: shared } = await import('@taskflow/shared');
  try {
    for (const { queue, moved } of await shared.migrateQueues(AMQP_URL)) {
      say(`queue ${queue} is now a quorum queue (${moved} message(s) carried over)`);
    }
  } catch (err) {
    fail([`RabbitMQ: could not bring the queues to the declared topology: ${err.message}`]);
  }
}

// --- main ----------------------------------------------------------------------------------
const pretty = LOG_PRETTY
  ? (await import('pino-pretty')).prettyFactory({ colorize: useColour, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' })
  : undefined;
await checkPostgres();
await checkRabbit();
await checkRabbitLogin();
await migrateQueues();
const services = discoverServices();
if (!services.length) fail([`No built services found in ${SERVICES_DIR}; run \`npm run build\` first.`]);
prefixWidth = Math.max(prefixWidth, ...services.map((n) => n.length));
for (const name of services) {
  if (await portInUse(PORTS[name])) {
    fail([
      `Port ${PORTS[name]} (${name}) is already in use. Is TaskFlow already running?`,
      `  Stop it, or choose other ports: ${portVariable(name)}=<port>, or PORT_BASE=<n> to move identity..webhooks to n+1..n+5`
        + ` (GATEWAY_PORT for the gateway).`,
    ]);
  }
}
if (services.includes('gateway') && await portInUse(GATEWAY_METRICS_PORT)) {
  fail([`Port ${GATEWAY_METRICS_PORT} (gateway metrics) is already in use; set METRICS_PORT to another port.`]);
}
const backends = services.filter((n) => n !== 'gateway');
backends.forEach((name) => startService(name, services.indexOf(name)));
await waitHealthy(backends);
if (!stopping && services.includes('gateway')) {
  startService('gateway', services.indexOf('gateway'));
  await waitHealthy(['gateway']);
  if (!stopping) say(`TaskFlow is up: ${PUBLIC_URL}  (docs: ${PUBLIC_URL}/api/docs)`);
} else if (!stopping) {
  say(`warning: no gateway built; running ${backends.map((n) => `${n} :${PORTS[n]}`).join(', ')}`);
}
