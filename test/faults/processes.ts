// Built services (services/<service>/dist/main.js) as named child processes: start, signal, await the
// exit, read the last log lines of every incarnation. The fault and scale clusters both run on this.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(__dirname, '../..');
/** After this, a signalled process that has not exited gets SIGKILL, so nothing lingers. */
const KILL_AFTER_MS = 15_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from the signal to the exit. */
  ms: number;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<Exit>;
  signalledAt: number;
}

export class ServiceProcesses {
  private readonly procs = new Map<string, Proc>();
  private readonly lines = new Map<string, string[]>();
  // If jest itself goes away, take the children along.
  private readonly killAllNow = () => {
    for (const p of this.procs.values()) if (this.isAlive(p)) p.child.kill('SIGKILL');
  };

  constructor(private readonly linesKept: number) {
    process.once('exit', this.killAllNow);
  }

  /** Starts `service`'s build as the process `name` (a name may be started again once it has exited). */
  spawn(name: string, service: string, env: NodeJS.ProcessEnv): void {
    if (this.running(name)) throw new Error(`${name} is already running`);
    const child = spawn(process.execPath, [path.join(ROOT, 'services', service, 'dist', 'main.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = this.logLines(name);
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        lines.push(line);
        if (lines.length > this.linesKept) lines.splice(0, lines.length - this.linesKept);
      });
    }
    const proc: Proc = { child, signalledAt: Date.now(), exited: undefined as unknown as Promise<Exit> };
    proc.exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        lines.push(`[cluster] ${name} exited: code ${code} signal ${signal}`);
        resolve({ code, signal, ms: Date.now() - proc.signalledAt });
      });
      child.once('error', (err) => {
        lines.push(`[cluster] ${name} could not start: ${err.message}`);
        resolve({ code: -1, signal: null, ms: Date.now() - proc.signalledAt });
      });
    });
    this.procs.set(name, proc);
  }

  running(name: string): boolean {
    const p = this.procs.get(name);
    return !!p && this.isAlive(p);
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

  /** Sends `signal` and resolves when the process has exited (SIGKILL after `killAfterMs`). */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL', killAfterMs = KILL_AFTER_MS): Promise<Exit> {
    const p = this.procs.get(name);
    if (!p || !this.isAlive(p)) throw new Error(`${name} is not running`);
    p.signalledAt = Date.now();
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

  /** Stops watching for jest's exit (call once every process has been stopped). */
  release(): void {
    process.removeListener('exit', this.killAllNow);
  }

  private isAlive(p: Proc): boolean {
    return p.child.exitCode === null && p.child.signalCode === null;
  }
}
