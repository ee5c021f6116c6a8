// knex bound to one PostgreSQL schema per service, with migrations kept as code (no file scanning).
import { createHash } from 'node:crypto';
import knex, { type Knex } from 'knex';

export type { Knex } from 'knex';
export * from './notifications';

export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down?(db: Knex): Promise<void>;
}

export interface DbOptions {
  url: string;
  schema: string;
  poolMax?: number;
  /** Longest a statement may run (lock waits included) before PostgreSQL cancels it (57014); 0 = never. */
  statementTimeoutMs?: number;
}

/**
 * A few seconds: far above any request's normal query, short enough that one tenant's expensive
 * queries cannot hold every pooled connection (and so everyone's requests) for long.
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;

export function createDb({ url, schema, poolMax = 10, statementTimeoutMs = DEFAULT_STATEMENT_TIMEOUT_MS }: DbOptions): Knex {
  return knex({
    client: 'pg',
    // Set at connect time, so it holds for every statement on every pooled connection.
    connection: { connectionString: url, statement_timeout: statementTimeoutMs },
    searchPath: [schema, 'public'],
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 5000,
  });
}

class ListMigrationSource implements Knex.MigrationSource<Migration> {
  constructor(private readonly migrations: readonly Migration[]) {}
  async getMigrations(): Promise<Migration[]> {
    return [...this.migrations];
  }
  getMigrationName(m: Migration): string {
    return m.name;
  }
  async getMigration(m: Migration): Promise<Knex.Migration> {
    // Schema changes (an index build over a big table) are exempt from the request statement timeout.
    const untimed = (step: (db: Knex) => Promise<void>) => async (db: Knex) => {
      await db.raw('set local statement_timeout = 0');
      await step(db);
    };
    return { up: untimed(m.up), down: untimed(m.down ?? (async () => undefined)) };
  }
}

/**
 * Creates `schema` if needed (knex does not create the schema of its own migration table), then migrates.
 * Safe when several replicas start at once: knex creates its own tables with check-then-create (two
 * replicas racing there fail, or leave two rows in knex_migrations_lock, which locks every later start
 * out), so one replica at a time migrates, under a transaction-scoped advisory lock held on one pooled
 * connection while another does the work (the pool needs at least two connections).
 * Waits at most `timeoutMs` for a replica that is migrating.
 */
export async function migrate(db: Knex, schema: string, migrations: readonly Migration[], timeoutMs = 30_000): Promise<void> {
  await db.transaction(async (lock) => {
    await lock.raw(`set local lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    await lock.raw('set local statement_timeout = 0');
    await lock.raw('select pg_advisory_xact_lock(hashtext(?))', [`taskflow.migrate.${schema}`]);
    await db.schema.createSchemaIfNotExists(schema);
    await db.migrate.latest({
      migrationSource: new ListMigrationSource(migrations),
      schemaName: schema,
      tableName: 'knex_migrations',
    });
  });
}

interface PooledPgConnection {
  query(config: { name: string; text: string; values: readonly unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs a hot read as a named prepared statement: PostgreSQL parses and plans each distinct statement
 * once per pooled connection instead of on every request. `sql` uses $1..$n placeholders: a constant
 * string for the hottest reads (no query builder on the request path: measured about twice the task
 * detail throughput of the knex-built query), or `query.toSQL().toNative()` of a dynamic one.
 */
export async function preparedRead<R>(db: Knex, sql: string, values: readonly unknown[]): Promise<R[]> {
  const name = `q_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
  const client = db.client as { acquireConnection(): Promise<PooledPgConnection>; releaseConnection(c: PooledPgConnection): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    return (await connection.query({ name, text: sql, values })).rows as R[];
  } finally {
    await client.releaseConnection(connection);
  }
}

export async function pingDb(db: Knex): Promise<void> {
  await db.raw('select 1');
}
export * from './transaction';
