// The built services a benchmark runs, on the one mechanism the fault and scale clusters use
// (test/faults/processes.ts), with what every benchmark adds: this process's environment under each
// service's own, an exit nobody asked for reported at once, the logged lines summarised at the end (or
// echoed as they come), stopped the last started first; and the services' normal ports for the
// benchmarks that run them there.
import net from 'node:net';
import { freePort } from '@taskflow/shared/testing';
import { ServiceProcesses, type StartOptions } from '../test/faults/processes';

/** A service still running this long after SIGTERM gets SIGKILL. */
const STOP_TIMEOUT_MS = 12_000;

export const BACKENDS = ['identity', 'tenancy', 'work', 'audit', 'webhooks'] as const;
export type ServiceName = (typeof BACKENDS)[number] | 'gateway';

export interface BenchServicesOptions {
  /** Writes one progress line to stderr, in the benchmark's own voice. */
  say: (msg: string) => void;
  /** The checkout whose built services run (default this one). */
  root?: string;
  /** Every line a service logs goes to stderr as it comes (for runs without `report()`). */
  echo?: boolean;
  /** Each service in its own process group: for a benchmark that handles Ctrl-C and stops them itself. */
  ownProcessGroup?: boolean;
}

export class BenchServices extends ServiceProcesses {
  private readonly say: (msg: string) => void;

  constructor(options: BenchServicesOptions) {
    const { say } = options;
    super({
      root: options.root,
      // What the person running the benchmark set (PASSWORD_SCRYPT_COST, NODE_OPTIONS...) reaches the services.
      env: process.env,
      ownProcessGroup: options.ownProcessGroup,
      onLine: options.echo ? (name, line) => process.stderr.write(`[${name}] ${line}\n`) : undefined,
      onUnexpectedExit: (name, exit, lastLines) => say(`${name} exited unexpectedly (${exit.signal ?? `code ${exit.code}`}); last lines:\n  ${lastLines.join('\n  ')}`),
    });
    this.say = say;
  }

  /** Starts the built service `name` on a free loopback port (its PORT) and resolves to its URL once it is ready. */
  async startOnFreePort(name: string, env: NodeJS.ProcessEnv, options: Omit<StartOptions, 'url'> = {}): Promise<string> {
    this.requireBuilt([name]);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    await this.start(name, name, { ...env, PORT: String(port) }, { ...options, url });
    return url;
  }

  /** SIGTERM to each running process, the last started first (nothing is left calling a stopped upstream), one at a time. */
  async stopAll(): Promise<void> {
    for (const name of this.names().reverse()) {
      if (!this.running(name)) continue;
      const exit = await this.kill(name, 'SIGTERM', STOP_TIMEOUT_MS);
      if (exit.signal === 'SIGKILL') this.say(`${name} still running ${STOP_TIMEOUT_MS / 1000} s after SIGTERM: killed`);
    }
    this.release();
  }

  /** How many lines each process logged (at LOG_LEVEL=warn: its warnings and errors) and the first few, except `ignored` ones. */
  report(ignored?: RegExp): void {
    for (const name of this.names()) {
      const logged = this.logLines(name).filter((l) => !l.startsWith('[processes]') && !ignored?.test(l));
      this.say(`${name}: ${logged.length} log lines at warn or above${logged.length ? ':' : ''}`);
      for (const line of logged.slice(0, 8)) process.stderr.write(`    ${line.slice(0, 400)}\n`);
      if (logged.length > 8) process.stderr.write(`    ... ${logged.length - 8} more\n`);
    }
  }
}

/** The ports `npm start` runs the services on, plus `offset` (PORT_OFFSET) so a benchmark can run beside them. */
export function normalPorts(offset: number): Record<ServiceName, number> {
  return { identity: 4001 + offset, tenancy: 4002 + offset, work: 4003 + offset, audit: 4004 + offset, webhooks: 4005 + offset, gateway: 8080 + offset };
}

/** IDENTITY_URL, TENANCY_URL, ...: where the services find each backend on `ports`. */
export function upstreamUrls(ports: Record<ServiceName, number>): Record<string, string> {
  return Object.fromEntries(BACKENDS.map((name) => [`${name.toUpperCase()}_URL`, `http://127.0.0.1:${ports[name]}`]));
}

const portInUse = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Refuses to go on when one of `ports` already answers: whatever runs there would take the benchmark's requests. */
export async function refuseTakenPorts(ports: Record<string, number>): Promise<void> {
  for (const [name, port] of Object.entries(ports)) {
    if (await portInUse(port)) {
      throw new Error(`Port ${port} (${name}) is already in use: is TaskFlow running (\`npm start\`), or another benchmark? Stop it, or set PORT_OFFSET, and run the benchmark again.`);
    }
  }
}
