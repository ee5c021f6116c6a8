// Built services (services/<service>/dist/main.js) as named child processes: start one and await its
// readiness, signal it, await the exit, read the last log lines of every incarnation. The fault and scale
// clusters and every benchmark (bench/services.ts) run their services on this, and on nothing else.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(__dirname, '../..');
/** After this, a signalled process that has not exited gets SIGKILL, so nothing lingers. */
const KILL_AFTER_MS = 15_000;
const START_TIMEOUT_MS = 30_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from the signal to the exit (from the start, for an exit nobody asked for). */
  ms: number;
}

export interface ServiceProcessesOptions {
  /** Lines kept per process name, the newest (default: every line). */
  linesKept?: number;
  /** The checkout whose built services run (default this one: a benchmark may measure another's). */
  root?: string;
  /** Under every process's own environment (default none: a cluster names each variable it passes). */
  env?: NodeJS.ProcessEnv;
  /**
   * Each child in its own process group, so a terminal's Ctrl-C reaches only this process, which then
   * stops them in its own order (benchmarks). Only for a parent that handles SIGINT: a child in its own
   * group outlives a parent that dies of it.
   */
  ownProcessGroup?: boolean;
  /** Every line a process writes, as it comes (for example to echo it). */
  onLine?: (name: string, line: string) => void;
  /** A process exited without `kill` having signalled it; `lastLines` are its newest. */
  onUnexpectedExit?: (name: string, exit: Exit, lastLines: string[]) => void;
}

export interface StartOptions {
  /** Its base URL: `${url}${probe}` answering 200 means ready. */
  url: string;
  /** Default /readyz; /healthz for a process whose readiness depends on upstreams that are left out. */
  probe?: string;
  /** How long it may take (default 30 s). */
  timeoutMs?: number;
  /** Node's own flags, before the service's main (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

interface Proc {
  child: ChildProcess;
  exited: Promise<Exit>;
  signalledAt: number;
  signalled: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET `url` with a deadline; resolves to the status, or 0 when nothing answered. */
export async function statusOf(url: string, timeoutMs = 1500): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Polls `url` + `probe` until it answers 200; fails after `timeoutMs` (or at once if `alive()` turns false). */
export async function waitReady(url: string, timeoutMs = START_TIMEOUT_MS, alive: () => boolean = () => true, probe = '/readyz'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = await statusOf(`${url}${probe}`);
    if (last === 200) return;
    if (!alive()) throw new Error(`${url} exited before it was ready`);
    await sleep(100);
  }
  throw new Error(`${url}${probe} still ${last || 'unreachable'} after ${timeoutMs} ms`);
}

/** Runs every clean-up step even when one fails (each resource is released), then throws the first failure. */
export async function releaseAll(steps: ReadonlyArray<() => unknown>): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
}

export class ServiceProcesses {
  private readonly procs = new Map<string, Proc>();
  private readonly lines = new Map<string, string[]>();
  private readonly linesKept: number;
  private readonly root: string;
  // If this process goes away (jest, a benchmark), take the children along.
  private readonly killAllNow = () => {
    for (const p of this.procs.values()) if (this.isAlive(p)) p.child.kill('SIGKILL');
  };

  constructor(private readonly options: ServiceProcessesOptions = {}) {
    this.linesKept = options.linesKept ?? Infinity;
    this.root = path.resolve(options.root ?? ROOT);
    process.once('exit', this.killAllNow);
  }

  /** Where `service`'s build is. */
  mainOf(service: string): string {
    return path.join(this.root, 'services', service, 'dist', 'main.js');
  }

  /** Fails at once, before anything is started, when one of `services` has not been built. */
  requireBuilt(services: readonly string[]): void {
    for (const service of services) {
      const main = this.mainOf(service);
      if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
    }
  }

  /** Starts `service`'s build as the process `name` (a name may be started again once it has exited). */
  spawn(name: string, service: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): void {
    this.spawnNode(name, [...nodeArgs, this.mainOf(service)], env);
  }

  /** Starts `service` as `name` and resolves once it answers 200; fails with its last log lines otherwise. */
  async start(name: string, service: string, env: NodeJS.ProcessEnv, options: StartOptions): Promise<void> {
    this.spawn(name, service, env, options.nodeArgs);
    try {
      await waitReady(options.url, options.timeoutMs ?? START_TIMEOUT_MS, () => this.running(name), options.probe);
    } catch (err) {
      throw new Error(`${name} did not become ready: ${(err as Error).message}\n${this.logLines(name).slice(-30).join('\n')}`);
    }
  }

  /** Runs node with `args` as the process `name` (something other than a service, e.g. a benchmark's reference server). */
  spawnNode(name: string, args: string[], env: NodeJS.ProcessEnv): void {
    if (this.running(name)) throw new Error(`${name} is already running`);
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...this.options.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.options.ownProcessGroup ?? false,
    });
    const lines = this.logLines(name);
    const onLine = this.options.onLine;
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        lines.push(line);
        if (lines.length > this.linesKept) lines.splice(0, lines.length - this.linesKept);
        onLine?.(name, line);
      });
    }
    const proc: Proc = { child, signalledAt: Date.now(), signalled: false, exited: undefined as unknown as Promise<Exit> };
    proc.exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        lines.push(`[processes] ${name} exited: code ${code} signal ${signal}`);
        const exit = { code, signal, ms: Date.now() - proc.signalledAt };
        if (!proc.signalled) this.options.onUnexpectedExit?.(name, exit, lines.slice(-6, -1));
        resolve(exit);
      });
      child.once('error', (err) => {
        lines.push(`[processes] ${name} could not start: ${err.message}`);
        resolve({ code: -1, signal: null, ms: Date.now() - proc.signalledAt });
      });
    });
    this.procs.set(name, proc);
  }

  running(name: string): boolean {
    const p = this.procs.get(name);
    return !!p && this.isAlive(p);
  }

  /** Every name started so far, in the order each was first started. */
  names(): string[] {
    return [...this.procs.keys()];
  }

  /** The current incarnation's process id (to read its CPU time in /proc). */
  pid(name: string): number {
    const pid = this.procs.get(name)?.child.pid;
    if (pid === undefined) throw new Error(`${name} is not running`);
    return pid;
  }

  /** Every line the process wrote, across its incarnations (the newest `linesKept`). */
  logLines(name: string): string[] {
    let lines = this.lines.get(name);
    if (!lines) this.lines.set(name, (lines = []));
    return lines;
  }

  /** Resolves when the current incarnation of `name` has exited. */
  exited(name: string): Promise<Exit> {
    const p = this.procs.get(name);
    if (!p) throw new Error(`${name} was never started`);
    return p.exited;
  }

  /** Sends `signal` without waiting for anything (e.g. SIGUSR2 to start a profiler). */
  send(name: string, signal: NodeJS.Signals): void {
    const p = this.procs.get(name);
    if (!p || !this.isAlive(p)) throw new Error(`${name} is not running`);
    p.child.kill(signal);
  }

  /** Sends `signal` and resolves when the process has exited (SIGKILL after `killAfterMs`). */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL', killAfterMs = KILL_AFTER_MS): Promise<Exit> {
    const p = this.procs.get(name);
    if (!p || !this.isAlive(p)) throw new Error(`${name} is not running`);
    p.signalledAt = Date.now();
    p.signalled = true;
    p.child.kill(signal);
    const force = setTimeout(() => p.child.kill('SIGKILL'), killAfterMs);
    try {
      return await p.exited;
    } finally {
      clearTimeout(force);
    }
  }

  /** SIGTERM to every running one of `names` at once (SIGKILL after `killAfterMs`); resolves when all exited. */
  async terminate(names: string[], killAfterMs: number): Promise<void> {
    await Promise.all(names.filter((n) => this.running(n)).map((n) => this.kill(n, 'SIGTERM', killAfterMs)));
  }

  /** Stops watching for this process's exit (call once every process has been stopped). */
  release(): void {
    process.removeListener('exit', this.killAllNow);
  }

  private isAlive(p: Proc): boolean {
    return p.child.exitCode === null && p.child.signalCode === null;
  }
}
