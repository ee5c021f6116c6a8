// The transactional outbox: events are written in the caller's transaction and published later by the relay.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Migration } from '../db';
import type { EventEnvelope, EventType, NewEvent } from '../events';
import { currentRequestId } from '../logging';
import { activeTraceCarrier } from '../tracing/spans';

export const OUTBOX_TABLE = 'outbox';

/**
 * Rows per INSERT: each row binds 3 parameters and PostgreSQL refuses a statement with more than 65,535
 * (08P01), so one statement could carry at most 21,845 events.
 */
export const OUTBOX_INSERT_CHUNK = 1000;

export const outboxNotifyChannel = (schema: string) => `taskflow_outbox_${schema}`;

export const outboxMigration: Migration = {
  name: '000_outbox',
  async up(db) {
    await db.schema.createTable(OUTBOX_TABLE, (t) => {
      t.uuid('id').primary();
      t.text('type').notNullable();
      t.jsonb('envelope').notNullable();
      t.bigIncrements('seq', { primaryKey: false });
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('published_at', { useTz: true });
    });
    await db.raw(`CREATE INDEX outbox_unpublished ON ${OUTBOX_TABLE} (seq) WHERE published_at IS NULL`);
    await db.raw(`CREATE INDEX outbox_published_at ON ${OUTBOX_TABLE} (published_at) WHERE published_at IS NOT NULL`);
  },
};

export function envelopeOf<T extends EventType>(event: NewEvent<T>): EventEnvelope<T> {
  // The trace this event was recorded in (only while tracing): the relay and the consumers continue it.
  const traceContext = activeTraceCarrier();
  return {
    id: randomUUID(),
    type: event.type,
    version: 1,
    occurred_at: new Date().toISOString(),
    organization_id: event.organization_id,
    actor_id: event.actor?.id ?? null,
    actor_email: event.actor?.email ?? null,
    request_id: currentRequestId() ?? null,
    ...(traceContext ? { trace_context: traceContext } : {}),
    data: event.data,
  };
}

/** Records events in the caller's transaction; they are published after it commits, at least once. */
export class Outbox {
  constructor(readonly schema: string) {}

  get notifyChannel(): string {
    return outboxNotifyChannel(this.schema);
  }

  /** Any number of events, alone or in lists (a list is never spread into arguments, whatever its length). */
  async add(trx: Knex.Transaction, ...events: Array<NewEvent | readonly NewEvent[]>): Promise<EventEnvelope[]> {
    const envelopes = events.flat().map(envelopeOf);
    if (envelopes.length === 0) return [];
    for (let i = 0; i < envelopes.length; i += OUTBOX_INSERT_CHUNK) {
      const chunk = envelopes.slice(i, i + OUTBOX_INSERT_CHUNK);
      await trx(OUTBOX_TABLE).insert(chunk.map((e) => ({ id: e.id, type: e.type, envelope: e })));
    }
    // Delivered at commit, so the relay wakes only for committed rows.
    await trx.raw("SELECT pg_notify(?, '')", [this.notifyChannel]);
    return envelopes;
  }
}
