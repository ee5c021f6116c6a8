// All SQL on stream leases: one row per open event stream of any replica, so STREAMS_PER_USER holds across them.
import type { Knex } from '@taskflow/shared';
import { STREAM_LEASES_TABLE } from './migrations';

/** A namespace for the per-user advisory lock that serializes taking leases (any 32-bit number unique to this use). */
const LEASE_LOCK_NAMESPACE = 1_731_504_211;

/**
 * Takes a lease for `userId` unless `limit` unexpired ones exist, in one short transaction: a per-user
 * advisory lock makes the count and the insert atomic across replicas; expired leases (of a replica that
 * died) are removed on the way. Returns whether it was taken.
 */
export async function takeLease(db: Knex, lease: { id: string; userId: string; holder: string; ttlMs: number }, limit: number): Promise<boolean> {
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?, hashtext(?))', [LEASE_LOCK_NAMESPACE, lease.userId]);
    await trx(STREAM_LEASES_TABLE).where('user_id', lease.userId).where('expires_at', '<=', trx.fn.now()).delete();
    const row = await trx(STREAM_LEASES_TABLE).where('user_id', lease.userId).count({ n: '*' }).first();
    if (Number(row?.n ?? 0) >= limit) return false;
    await trx(STREAM_LEASES_TABLE).insert({
      id: lease.id,
      user_id: lease.userId,
      holder: lease.holder,
      expires_at: trx.raw('now() + make_interval(secs => ?)', [lease.ttlMs / 1000]),
    });
    return true;
  });
}

/** Extends the leases `ids` (their streams are still open). */
export async function renewLeases(db: Knex, ids: string[], ttlMs: number): Promise<void> {
  await db(STREAM_LEASES_TABLE).whereIn('id', ids).update({ expires_at: db.raw('now() + make_interval(secs => ?)', [ttlMs / 1000]) });
}

export async function dropLease(db: Knex, id: string): Promise<void> {
  await db(STREAM_LEASES_TABLE).where('id', id).delete();
}

export async function dropLeasesOf(db: Knex, holder: string): Promise<void> {
  await db(STREAM_LEASES_TABLE).where('holder', holder).delete();
}
