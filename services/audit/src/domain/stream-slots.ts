// At most N open streams per user (STREAMS_PER_USER) across every audit replica; the N+1st is refused
// with 429. Each open stream holds a lease row in PostgreSQL, which this process renews while the stream
// is open and deletes when it ends; a replica that dies leaves leases that expire after `leaseMs`.
import { randomUUID } from 'node:crypto';
import { AppError, type Knex, type Logger } from '@taskflow/shared';
import { dropLease, dropLeasesOf, renewLeases, takeLease } from '../db/stream-leases';

export interface StreamSlotsOptions {
  db: Knex;
  perUser: number;
  logger: Logger;
  /** How long a lease outlives its last renewal (renewed every third of it). */
  leaseMs: number;
}

export class StreamSlots {
  /** Names this process's leases. */
  private readonly holder = randomUUID();
  /** The leases of the streams open in this process. */
  private readonly open = new Set<string>();
  private readonly renewal: NodeJS.Timeout;

  constructor(private readonly options: StreamSlotsOptions) {
    this.renewal = setInterval(() => {
      if (this.open.size === 0) return;
      renewLeases(options.db, [...this.open], options.leaseMs).catch((err: Error) => options.logger.warn({ err: err.message }, 'stream leases not renewed; retrying'));
    }, Math.max(10, Math.floor(options.leaseMs / 3)));
    this.renewal.unref();
  }

  /** Takes a slot for `userId` or throws 429; the returned function gives it back (once). */
  async take(userId: string): Promise<() => void> {
    const id = randomUUID();
    const { db, perUser, leaseMs, logger } = this.options;
    if (!(await takeLease(db, { id, userId, holder: this.holder, ttlMs: leaseMs }, perUser))) {
      throw new AppError(429, 'too_many_streams', `At most ${perUser} open streams per user; close one first.`, undefined, { 'Retry-After': '5' });
    }
    this.open.add(id);
    return () => {
      if (!this.open.delete(id)) return;
      // If this fails the lease is no longer renewed, so it still expires after `leaseMs`.
      dropLease(db, id).catch((err: Error) => logger.warn({ err: err.message }, 'stream lease not released'));
    };
  }

  /** Streams open in this process. */
  get size(): number {
    return this.open.size;
  }

  /** Stops renewing and gives back this process's leases (the service is closing). */
  async close(): Promise<void> {
    clearInterval(this.renewal);
    this.open.clear();
    await dropLeasesOf(this.options.db, this.holder).catch(() => undefined);
  }
}
