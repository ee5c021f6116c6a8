// knex bound to one PostgreSQL schema per service, with migrations kept as code (no file scanning).
import knex, { type Knex } from 'knex';

export type { Knex } from 'knex';

export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down?(db: Knex): Promise<void>;
}

export interface DbOptions {
  url: string;
  schema: string;
  poolMax?: number;
}

export function createDb({ url, schema, poolMax = 10 }: DbOptions): Knex {
  return knex({
    client: 'pg',
    connection: url,
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
    return { up: m.up, down: m.down ?? (async () => undefined) };
  }
}

/**
 * What a replica starting at the same moment causes: the schema or knex's own tables created twice
 * at once (unique violations on the pg_* catalogs, "already exists"), or knex's migration lock held.
 */
function isConcurrentStart(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; constraint?: unknown; message?: unknown };
  if (e?.name === 'MigrationLocked') return true;
  if (e?.code === '23505') return typeof e.constraint === 'string' && e.constraint.startsWith('pg_');
  if (e?.code === '42P06') return true;
  return e?.code === '42P07' && typeof e.message === 'string' && e.message.includes('knex_migrations');
}

/**
 * Creates `schema` if needed (knex does not create the schema of its own migration table), then migrates.
 * Safe when several replicas start at once: the losers of those races wait a moment and try again.
 */
export async function migrate(db: Knex, schema: string, migrations: readonly Migration[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await db.schema.createSchemaIfNotExists(schema);
      await db.migrate.latest({
        migrationSource: new ListMigrationSource(migrations),
        schemaName: schema,
        tableName: 'knex_migrations',
      });
      return;
    } catch (err) {
      if (!isConcurrentStart(err) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
    }
  }
}

export async function pingDb(db: Knex): Promise<void> {
  await db.raw('select 1');
}
