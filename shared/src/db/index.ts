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

/** Creates `schema` if needed (knex does not create the schema of its own migration table), then migrates. */
export async function migrate(db: Knex, schema: string, migrations: readonly Migration[]): Promise<void> {
  await db.schema.createSchemaIfNotExists(schema);
  await db.migrate.latest({
    migrationSource: new ListMigrationSource(migrations),
    schemaName: schema,
    tableName: 'knex_migrations',
  });
}

export async function pingDb(db: Knex): Promise<void> {
  await db.raw('select 1');
}
