// A steady mixed load over both gateways, as clients behind a load balancer would send it: reads,
// creates carrying an Idempotency-Key (a 503 is retried with the same key) and updates carrying
// If-Match. A connection the gateway refuses or drops (one gateway stopping) is sent once to the
// other gateway, as a balancer would. Everything is counted, so a test can prove what was served,
// what was retried and that nothing was duplicated or lost.
import { type Timed, timed } from '../faults/helpers';

/** Past this a request counts as hung (the gateway's own upstream deadline is 10 s: it should have answered by then). */
export const CLIENT_TIMEOUT_MS = 15_000;
/** A create or update gives up after this many 503s (each retried after at most 250 ms). */
const MAX_ATTEMPTS = 40;

export interface CreateRecord {
  key: string;
  title: string;
  /** Status of the last answer (2xx once created). */
  status: number;
  id?: string;
  attempts: number;
}

export interface LoadStats {
  /** Requests answered with any HTTP status. */
  served: number;
  statuses: Map<number, number>;
  /** Answers with a status of 500 or more other than 503 (which clients retry). */
  serverErrors: string[];
  hung: number;
  /** 503s received by creates and updates, each retried. */
  seen503: number;
  /** Requests resent to the other gateway after a refused or dropped connection. */
  gatewayFailovers: number;
  /** Reads that did not answer 200. */
  readFailures: string[];
  creates: CreateRecord[];
  /** Updates answered 200 (or found applied after an uncertain answer), per task. */
  lastUpdateOf: Map<string, string>;
  updatesApplied: number;
  /** Creates or updates that never got through (every attempt refused). */
  givenUp: string[];
}

export interface LoadTarget {
  token: string;
  organization: string;
  project: string;
  /** A task to read. */
  readTask: string;
  /** One task per updater, updated by it alone. */
  updateTasks: string[];
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const connectionLost = (t: Timed) => t.status === 0 && !/TimeoutError/.test(t.error ?? '');
const hungUp = (t: Timed) => t.status === 0 && /TimeoutError/.test(t.error ?? '');

export class MixedLoad {
  readonly stats: LoadStats = {
    served: 0,
    statuses: new Map(),
    serverErrors: [],
    hung: 0,
    seen503: 0,
    gatewayFailovers: 0,
    readFailures: [],
    creates: [],
    lastUpdateOf: new Map(),
    updatesApplied: 0,
    givenUp: [],
  };
  private turn = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly run = Date.now().toString(36);

  constructor(
    private readonly gateways: string[],
    private readonly target: LoadTarget,
  ) {}

  /** One request through the next gateway; a refused or dropped connection goes once to the other one. */
  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Timed> {
    const first = (this.turn += 1);
    const init = {
      method,
      headers: { authorization: `Bearer ${this.target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: CLIENT_TIMEOUT_MS,
    };
    let answer = await timed(`${this.gateways[first % this.gateways.length]}${path}`, init);
    if (connectionLost(answer)) {
      this.stats.gatewayFailovers += 1;
      answer = await timed(`${this.gateways[(first + 1) % this.gateways.length]}${path}`, init);
    }
    if (hungUp(answer)) this.stats.hung += 1;
    if (answer.status !== 0) {
      this.stats.served += 1;
      this.stats.statuses.set(answer.status, (this.stats.statuses.get(answer.status) ?? 0) + 1);
      if (answer.status >= 500 && answer.status !== 503) this.stats.serverErrors.push(`${method} ${path} -> ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer;
  }

  /** Starts `readers` + `creators` + one updater per update task, until `stop()`. */
  start({ readers, creators }: { readers: number; creators: number }): void {
    this.running = true;
    for (let r = 0; r < readers; r += 1) this.loops.push(this.reader(r));
    for (let c = 0; c < creators; c += 1) this.loops.push(this.creator(c));
    for (const task of this.target.updateTasks) this.loops.push(this.updater(task));
  }

  async stop(): Promise<LoadStats> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    return this.stats;
  }

  private async reader(loop: number): Promise<void> {
    for (let i = loop; this.running; i += 1) {
      // A read from every service in turn: work (a task, a page), tenancy, audit, identity.
      const { readTask, project, organization } = this.target;
      const reads = [`/api/v1/tasks/${readTask}/`, `/api/v1/tasks/?project=${project}&limit=20`, `/api/v1/organizations/${organization}/`, `/api/v1/activity/?organization=${organization}&limit=5`, '/api/v1/auth/me/'];
      const path = reads[i % reads.length]!;
      const answer = await this.send('GET', path);
      if (answer.status !== 200) this.stats.readFailures.push(`reader ${loop}: GET ${path} -> ${answer.status || answer.error}`);
    }
  }

  /** 503 (or a lost connection) -> the same request again, after the Retry-After the gateway gave (at most 250 ms here). */
  private async retrying(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<{ answer: Timed; attempts: number }> {
    let answer: Timed = { status: 0, ms: 0, startedAt: Date.now() };
    let attempts = 0;
    while (attempts < MAX_ATTEMPTS) {
      attempts += 1;
      answer = await this.send(method, path, body, headers);
      if (answer.status !== 503 && answer.status !== 0) break;
      if (answer.status === 503) this.stats.seen503 += 1;
      await pause(Math.min(250, Number(answer.headers?.get('retry-after') ?? 1) * 1000));
    }
    return { answer, attempts };
  }

  private async creator(loop: number): Promise<void> {
    for (let i = 0; this.running; i += 1) {
      const key = `${this.run}-${loop}-${i}`;
      const title = `scale ${key}`;
      const { answer, attempts } = await this.retrying('POST', '/api/v1/tasks/', { project: this.target.project, title }, { 'idempotency-key': key });
      const record: CreateRecord = { key, title, status: answer.status, id: answer.body?.id, attempts };
      this.stats.creates.push(record);
      if (answer.status < 200 || answer.status >= 300) this.stats.givenUp.push(`create ${key}: ${answer.status || answer.error} after ${attempts} attempts`);
    }
  }

  private async updater(task: string): Promise<void> {
    let etag = (await this.send('GET', `/api/v1/tasks/${task}/`)).headers?.get('etag') ?? '';
    for (let i = 0; this.running; i += 1) {
      const title = `updated ${task.slice(0, 8)} #${i}`;
      const { answer } = await this.retrying('PATCH', `/api/v1/tasks/${task}/`, { title }, { 'if-match': etag });
      if (answer.status === 200) {
        etag = answer.headers!.get('etag')!;
        this.stats.lastUpdateOf.set(task, title);
        this.stats.updatesApplied += 1;
        continue;
      }
      // 412: an earlier attempt of this very update went through (only this loop writes the task).
      const current = await this.send('GET', `/api/v1/tasks/${task}/`);
      etag = current.headers?.get('etag') ?? etag;
      if (answer.status === 412 && current.body?.title === title) {
        this.stats.lastUpdateOf.set(task, title);
        this.stats.updatesApplied += 1;
      } else {
        this.stats.givenUp.push(`update ${task} #${i}: ${answer.status || answer.error}`);
      }
    }
  }
}

/** One line for a test's output and the report. */
export function summary(stats: LoadStats): string {
  const statuses = [...stats.statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
  const created = stats.creates.filter((c) => c.status >= 200 && c.status < 300).length;
  return (
    `served ${stats.served} (${statuses}); creates answered 2xx ${created}; updates applied ${stats.updatesApplied}; ` +
    `503s seen and retried ${stats.seen503}; resent to the other gateway ${stats.gatewayFailovers}; hung ${stats.hung}; ` +
    `5xx other than 503: ${stats.serverErrors.length}; failed reads ${stats.readFailures.length}; given up ${stats.givenUp.length}`
  );
}
