// Tenancy's recent "not a member" answers, kept briefly in memory so probing another organization's
// objects neither costs an internal call each time nor takes measurably longer than probing nothing.
// Bounded in size and in age; consulted only when the replica table has no row for the pair, so a
// membership event stored in the table (by any process) wins over a refusal at once.

export interface RefusalCacheOptions {
  /** How long a refusal is believed (default 5 s): the longest a join can go unnoticed when its event is late. */
  ttlMs?: number;
  /** At most this many pairs are remembered (default 10 000); the oldest go first. */
  maxEntries?: number;
  /** The clock, for tests. */
  now?: () => number;
}

export const DEFAULT_REFUSAL_TTL_MS = 5000;
export const DEFAULT_REFUSAL_MAX_ENTRIES = 10_000;

export class RefusalCache {
  private readonly expiries = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: RefusalCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_REFUSAL_TTL_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_REFUSAL_MAX_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  /** Whether tenancy said `userId` is not a member of `organizationId` less than the TTL ago. */
  has(userId: string, organizationId: string): boolean {
    const key = `${organizationId}/${userId}`;
    const expiry = this.expiries.get(key);
    if (expiry === undefined) return false;
    if (expiry > this.now()) return true;
    this.expiries.delete(key);
    return false;
  }

  remember(userId: string, organizationId: string): void {
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return;
    const key = `${organizationId}/${userId}`;
    this.expiries.delete(key); // re-inserted last: a Map iterates in insertion order, oldest first
    while (this.expiries.size >= this.maxEntries) this.expiries.delete(this.expiries.keys().next().value!);
    this.expiries.set(key, this.now() + this.ttlMs);
  }
}
