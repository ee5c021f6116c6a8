// Idempotency-Key for creates: the stored response commits in the same transaction as the effect,
// so a retried request replays the first response and never does the work twice.
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import type { Migration } from '../db';
import { inTransaction } from '../db/transaction';
import { AppError } from './errors';

export const IDEMPOTENCY_TABLE = 'idempotency_keys';
const KEY_TTL_MS = 24 * 3600 * 1000;

export const idempotencyMigration: Migration = {
  name: '000_idempotency_keys',
  async up(db) {
    await db.schema.createTable(IDEMPOTENCY_TABLE, (t) => {
      t.uuid('user_id').notNullable();
      t.text('key').notNullable();
      t.text('request_hash').notNullable();
      t.integer('status');
      t.jsonb('body');
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.primary(['user_id', 'key']);
    });
    await db.raw(`CREATE INDEX idempotency_keys_created_at ON ${IDEMPOTENCY_TABLE} (created_at)`);
  },
};

export interface StoredResponse {
  status: number;
  body: unknown;
}

const SANE_KEY = /^[\x21-\x7e]{1,255}$/;

function requestHash(ctx: Context, body: unknown): string {
  return createHash('sha256').update(`${ctx.method} ${ctx.path}\n${JSON.stringify(body ?? null)}`).digest('hex');
}

/**
 * Wraps a write use case from outside: `work` calls the use case (which writes in `inTransaction(db, ...)`)
 * and shapes its response. With an `Idempotency-Key` header, the key is claimed in a transaction that
 * the use case joins, so the first response for that key (per user, 24 h) commits with the use case's
 * rows and events, and is replayed for repeats; the same key with a different request is 422.
 * Concurrent requests with one key wait for the first and then replay it. Without the header, `work`
 * simply runs (the use case opens its own transaction).
 */
export async function idempotent(ctx: Context, db: Knex, userId: string, body: unknown, work: () => Promise<StoredResponse>): Promise<StoredResponse> {
  const key = ctx.get('idempotency-key');
  if (key === '') return work();
  if (!SANE_KEY.test(key)) {
    throw new AppError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1-255 printable ASCII characters.');
  }
  const hash = requestHash(ctx, body);
  const result = await inTransaction(db, async (trx) => {
    // Expired keys may be reused.
    await trx(IDEMPOTENCY_TABLE).where({ user_id: userId, key }).where('created_at', '<', new Date(Date.now() - KEY_TTL_MS)).delete();
    const claimed = await trx(IDEMPOTENCY_TABLE)
      .insert({ user_id: userId, key, request_hash: hash })
      .onConflict(['user_id', 'key'])
      .ignore()
      .returning('key');
    if (claimed.length === 0) {
      const previous = await trx(IDEMPOTENCY_TABLE).where({ user_id: userId, key }).first();
      if (previous.request_hash !== hash) {
        throw new AppError(422, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request.');
      }
      return { status: previous.status as number, body: previous.body as unknown, replayed: true };
    }
    const response = await work();
    await trx(IDEMPOTENCY_TABLE).where({ user_id: userId, key }).update({ status: response.status, body: JSON.stringify(response.body) });
    return { ...response, replayed: false };
  });
  if (result.replayed) ctx.set('Idempotent-Replayed', 'true');
  return { status: result.status, body: result.body };
}

/** Deletes keys past their 24 h life. */
export async function purgeExpiredIdempotencyKeys(db: Knex): Promise<number> {
  return db(IDEMPOTENCY_TABLE).where('created_at', '<', new Date(Date.now() - KEY_TTL_MS)).delete();
}

