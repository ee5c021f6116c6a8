// A fair admission queue: at most `perTenant` requests of one tenant and `total` of the process run at
// once; the rest wait in a bounded queue per tenant, and a freed slot goes to the tenants with waiters in
// turn (round-robin), so a tenant with a hundred requests waiting delays another tenant's one request by
// at most one turn. A tenant that has been the only one with requests for `aloneAfterMs` may run up to
// `alone` (work-conserving: one busy tenant is not held to its share of an idle process); the slots above
// `alone` stay free, so a newcomer starts at once, and from then on the first tenant gets no slot until
// it is back under `perTenant`. The quiet period matters: another tenant's steady requests leave gaps
// between them, and a tenant that borrowed in each gap would hold more long requests than its share
// all the time. Pure bookkeeping: no timers, no I/O (the caller bounds waits with an AbortSignal).

export interface FairQueueLimits {
  /** Requests of one tenant running at once. */
  perTenant: number;
  /** Requests running at once in the whole process (all tenants). */
  total: number;
  /** Requests of one tenant waiting at once; one more is refused. */
  queuePerTenant: number;
  /**
   * Requests of one tenant running at once while no other tenant has any running or waiting
   * (`perTenant` <= alone <= `total`; default `perTenant`, i.e. no borrowing).
   */
  alone?: number;
  /** How long a tenant must have been the only one with requests before it may borrow (default 1000 ms). */
  aloneAfterMs?: number;
  /** The clock, in milliseconds (tests pass their own). */
  now?: () => number;
}

/** Why a request was not admitted: its tenant's queue was full, or its wait was cut short (timeout, client gone). */
export class NotAdmitted extends Error {
  constructor(
    readonly reason: 'queue_full' | 'aborted',
    /** When aborted: whether the tenant itself had `perTenant` requests running (its own load), else the process was full. */
    readonly tenantAtCap: boolean,
    cause?: unknown,
  ) {
    super(reason === 'queue_full' ? 'The tenant already has the most requests waiting.' : 'The wait for a slot was cut short.', { cause });
    this.name = 'NotAdmitted';
  }
}

/** Gives the slot back; calling it more than once is harmless. */
export type Release = () => void;

interface Waiter {
  admit: () => void;
  refuse: (err: NotAdmitted) => void;
}

interface TenantState {
  running: number;
  waiting: Waiter[];
}

export class FairQueue {
  private readonly tenants = new Map<string, TenantState>();
  /** Tenants with waiters, in the order they get the next slot. */
  private readonly turns: string[] = [];
  private runningTotal = 0;
  private waitingTotal = 0;

  readonly limits: Required<Omit<FairQueueLimits, 'aloneAfterMs' | 'now'>>;
  private readonly aloneAfterMs: number;
  private readonly now: () => number;
  /** When two or more tenants last had requests at once (-Infinity: never). */
  private sharedAt = -Infinity;

  constructor({ perTenant, total, queuePerTenant, alone = perTenant, aloneAfterMs = 1000, now = () => performance.now() }: FairQueueLimits) {
    this.limits = { perTenant, total, queuePerTenant, alone };
    this.aloneAfterMs = aloneAfterMs;
    this.now = now;
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isInteger(value) || value < (name === 'queuePerTenant' ? 0 : 1)) throw new Error(`FairQueue: ${name} must be a positive integer, got ${value}`);
    }
    if (alone < perTenant || alone > total) throw new Error(`FairQueue: alone must be between perTenant (${perTenant}) and total (${total}), got ${alone}`);
  }

  get running(): number {
    return this.runningTotal;
  }

  get waiting(): number {
    return this.waitingTotal;
  }

  /** Requests of `tenant` running and waiting now. */
  load(tenant: string): { running: number; waiting: number } {
    const state = this.tenants.get(tenant);
    return { running: state?.running ?? 0, waiting: state?.waiting.length ?? 0 };
  }

  /** Whether a request of `tenant` arriving now would wait (or be refused) rather than start at once. */
  mustWait(tenant: string): boolean {
    const state = this.tenants.get(tenant);
    return state ? state.waiting.length > 0 || !this.canRun(state) : this.runningTotal >= this.limits.total;
  }

  /**
   * A slot for `tenant`: at once when it and the process are under their caps, else after waiting its
   * turn. Rejects with NotAdmitted when the tenant's queue is full, or when `signal` aborts while waiting.
   */
  acquire(tenant: string, signal?: AbortSignal): Promise<Release> {
    const state = this.stateOf(tenant);
    if (state.waiting.length === 0 && this.canRun(state)) return Promise.resolve(this.start(tenant, state));
    if (state.waiting.length >= this.limits.queuePerTenant) {
      this.forgetIfIdle(tenant, state);
      return Promise.reject(new NotAdmitted('queue_full', state.running >= this.limits.perTenant));
    }
    if (signal?.aborted) {
      this.forgetIfIdle(tenant, state);
      return Promise.reject(new NotAdmitted('aborted', state.running >= this.limits.perTenant, signal.reason));
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        const at = state.waiting.indexOf(waiter);
        if (at < 0) return; // already admitted
        state.waiting.splice(at, 1);
        this.waitingTotal -= 1;
        if (state.waiting.length === 0) this.leaveTurns(tenant);
        this.forgetIfIdle(tenant, state);
        waiter.refuse(new NotAdmitted('aborted', state.running >= this.limits.perTenant, signal?.reason));
      };
      const waiter: Waiter = {
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.start(tenant, state));
        },
        refuse: reject,
      };
      state.waiting.push(waiter);
      this.waitingTotal += 1;
      if (!this.turns.includes(tenant)) this.turns.push(tenant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private stateOf(tenant: string): TenantState {
    let state = this.tenants.get(tenant);
    if (!state) {
      state = { running: 0, waiting: [] };
      this.tenants.set(tenant, state);
    }
    return state;
  }

  private canRun(state: TenantState): boolean {
    return this.runningTotal < this.limits.total && state.running < this.capOf(state);
  }

  /**
   * `perTenant`, or `alone` while `state` is the only tenant with requests (the map holds only active
   * tenants) and has been for `aloneAfterMs`.
   */
  private capOf(state: TenantState): number {
    if (this.limits.alone === this.limits.perTenant) return this.limits.perTenant;
    if (this.tenants.size > 1) {
      this.sharedAt = this.now();
      return this.limits.perTenant;
    }
    const only = this.tenants.values().next().value === state;
    return only && this.now() - this.sharedAt >= this.aloneAfterMs ? this.limits.alone : this.limits.perTenant;
  }

  private start(tenant: string, state: TenantState): Release {
    state.running += 1;
    this.runningTotal += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.running -= 1;
      this.runningTotal -= 1;
      this.forgetIfIdle(tenant, state);
      this.dispatch();
    };
  }

  /** Hands free slots to waiters: the first tenant in turn order that is under its cap, which then goes last. */
  private dispatch(): void {
    while (this.runningTotal < this.limits.total) {
      const at = this.turns.findIndex((tenant) => this.tenants.get(tenant)!.running < this.capOf(this.tenants.get(tenant)!));
      if (at < 0) return;
      const tenant = this.turns[at]!;
      const state = this.tenants.get(tenant)!;
      this.turns.splice(at, 1);
      const waiter = state.waiting.shift()!;
      this.waitingTotal -= 1;
      if (state.waiting.length > 0) this.turns.push(tenant);
      waiter.admit();
    }
  }

  private leaveTurns(tenant: string): void {
    const at = this.turns.indexOf(tenant);
    if (at >= 0) this.turns.splice(at, 1);
  }

  /** Tenants with nothing running or waiting are not remembered: the map holds only active tenants. */
  private forgetIfIdle(tenant: string, state: TenantState): void {
    if (state.running !== 0 || state.waiting.length !== 0 || this.tenants.get(tenant) !== state) return;
    // The last moment two tenants were active: the one left borrows only after the quiet period.
    if (this.tenants.size > 1 && this.limits.alone !== this.limits.perTenant) this.sharedAt = this.now();
    this.tenants.delete(tenant);
  }
}
