// Deliveries and their attempts: every statement about them, the workers' claim included.
import { inTransaction, type KeyValue, keysetPage, type Knex } from '@taskflow/shared';
import type { Delivery, DeliveryAttempt, DeliveryStatus } from '../domain/model';
import { newestFirst } from './endpoints';

type Db = Knex | Knex.Transaction;

const TABLE = 'webhooks.deliveries';
const ATTEMPTS = 'webhooks.delivery_attempts';
const COLUMNS = ['id', 'event_id', 'event_type', 'status', 'attempts', 'next_attempt_at', 'last_status_code', 'last_error', 'created_at', 'delivered_at'];

interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

interface AttemptRow {
  delivery_id: string;
  attempted_at: Date;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toDelivery(row: DeliveryRow, attempts: DeliveryAttempt[]): Delivery {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: iso(row.next_attempt_at),
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    created_at: row.created_at.toISOString(),
    delivered_at: iso(row.delivered_at),
    attempt_log: attempts,
  };
}

export interface NewDelivery {
  endpoint_id: string;
  organization_id: string;
  event_id: string;
  event_type: string;
  body: string;
}

/** Queues deliveries due now; a second delivery of the same event to the same endpoint is ignored. */
export async function insertDeliveries(trx: Knex.Transaction, deliveries: NewDelivery[]): Promise<number> {
  if (deliveries.length === 0) return 0;
  const rows = await trx(TABLE)
    .insert(deliveries.map((d) => ({ ...d, next_attempt_at: trx.fn.now() })))
    .onConflict(['endpoint_id', 'event_id'])
    .ignore()
    .returning('id');
  await trx.raw(`select pg_notify(?, '')`, [DELIVERIES_CHANNEL]);
  return rows.length;
}

/** NOTIFY channel: every worker replica wakes when deliveries are queued (delivered at commit). */
export const DELIVERIES_CHANNEL = 'taskflow_webhook_deliveries';

/** One endpoint's deliveries, newest first, after the cursor `[created_at, id]`, each with its attempts. */
export async function listDeliveries(
  db: Db,
  endpointId: string,
  status: DeliveryStatus | undefined,
  after: readonly [KeyValue, string] | undefined,
  limit: number,
): Promise<Delivery[]> {
  const query = db(TABLE).select(COLUMNS).where({ endpoint_id: endpointId });
  if (status) query.where({ status });
  const rows = (await keysetPage(query, newestFirst, 'deliveries', after).limit(limit)) as DeliveryRow[];
  const attempts = rows.length
    ? ((await db(ATTEMPTS).select('delivery_id', 'attempted_at', 'status_code', 'error', 'duration_ms').whereIn('delivery_id', rows.map((r) => r.id)).orderBy('id')) as AttemptRow[])
    : [];
  const byDelivery = new Map<string, DeliveryAttempt[]>();
  for (const a of attempts) {
    const list = byDelivery.get(a.delivery_id) ?? [];
    list.push({ attempted_at: a.attempted_at.toISOString(), status_code: a.status_code, error: a.error, duration_ms: a.duration_ms });
    byDelivery.set(a.delivery_id, list);
  }
  return rows.map((r) => toDelivery(r, byDelivery.get(r.id) ?? []));
}

/** Makes a delivery of this endpoint due now, whatever its state; false when there is no such delivery. */
export async function scheduleNow(trx: Knex.Transaction, endpointId: string, deliveryId: string): Promise<boolean> {
  const updated = await trx(TABLE)
    .where({ id: deliveryId, endpoint_id: endpointId })
    .update({ status: trx.raw(`case when status = 'pending' then 'pending' else 'retrying' end`), next_attempt_at: trx.fn.now() });
  if (updated > 0) await trx.raw(`select pg_notify(?, '')`, [DELIVERIES_CHANNEL]);
  return updated > 0;
}

/** A delivery a worker holds: enough to send it, its endpoint's (still encrypted) secrets included. */
export interface ClaimedDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  body: string;
  attempts: number;
  url: string;
  secret_encrypted: string;
  previous_secret_encrypted: string | null;
  previous_secret_expires_at: Date | null;
}

/**
 * Claims due deliveries: per enabled endpoint at most `perEndpoint` minus those already held by any
 * worker (so one slow receiver occupies only its own share), at most `limit` in all, skipping rows another
 * worker is claiming. Each is leased for `leaseMs`: a worker that dies mid-attempt loses it when it expires.
 */
export async function claimDueDeliveries(db: Knex, options: { limit: number; perEndpoint: number; leaseMs: number }): Promise<ClaimedDelivery[]> {
  return inTransaction(db, async (trx) => {
    const { rows } = await trx.raw(
      `select picked.id, picked.endpoint_id, picked.event_id, picked.body, picked.attempts, e.url,
              e.secret_encrypted, e.previous_secret_encrypted, e.previous_secret_expires_at
         from webhooks.endpoints e
         cross join lateral (
           select d.id, d.endpoint_id, d.event_id, d.body, d.attempts
             from webhooks.deliveries d
            where d.endpoint_id = e.id
              and d.status in ('pending', 'retrying')
              and d.next_attempt_at <= now()
              and (d.leased_until is null or d.leased_until <= now())
            order by d.next_attempt_at, d.id
            limit greatest(0, ? - (select count(*) from webhooks.deliveries held where held.endpoint_id = e.id and held.leased_until > now()))
            for update of d skip locked
         ) picked
        where e.enabled
          and exists (select 1 from webhooks.deliveries due where due.endpoint_id = e.id and due.status in ('pending', 'retrying') and due.next_attempt_at <= now())
        limit ?`,
      [options.perEndpoint, options.limit],
    );
    const claimed = rows as ClaimedDelivery[];
    if (claimed.length > 0) {
      await trx(TABLE)
        .whereIn('id', claimed.map((c) => c.id))
        .update({ leased_until: trx.raw(`now() + make_interval(secs => ?)`, [options.leaseMs / 1000]) });
    }
    return claimed;
  });
}

/** When the earliest waiting delivery of an enabled endpoint becomes due (undefined when none waits). */
export async function nextDueAt(db: Knex): Promise<Date | undefined> {
  const row = await db.raw(
    `select min(greatest(d.next_attempt_at, coalesce(d.leased_until, d.next_attempt_at))) as at
       from webhooks.deliveries d join webhooks.endpoints e on e.id = d.endpoint_id and e.enabled
      where d.status in ('pending', 'retrying')`,
  );
  const at = row.rows[0]?.at as Date | null | undefined;
  return at ? new Date(at) : undefined;
}

export interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  succeeded: boolean;
  /** Seconds until the next attempt, or null when there is none (succeeded, or retries exhausted). */
  retryInSeconds: number | null;
}

/** Records one attempt and the delivery's new state, releasing the lease. */
export async function recordAttempt(trx: Knex.Transaction, deliveryId: string, outcome: AttemptOutcome): Promise<void> {
  await trx(ATTEMPTS).insert({ delivery_id: deliveryId, status_code: outcome.statusCode, error: outcome.error, duration_ms: outcome.durationMs });
  const status: DeliveryStatus = outcome.succeeded ? 'succeeded' : outcome.retryInSeconds === null ? 'failed' : 'retrying';
  await trx(TABLE)
    .where({ id: deliveryId })
    .update({
      status,
      attempts: trx.raw('attempts + 1'),
      last_status_code: outcome.statusCode,
      last_error: outcome.error,
      leased_until: null,
      next_attempt_at: outcome.retryInSeconds === null ? null : trx.raw(`now() + make_interval(secs => ?)`, [outcome.retryInSeconds]),
      delivered_at: outcome.succeeded ? trx.fn.now() : null,
    });
}
