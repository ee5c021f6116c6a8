// Projects table: every statement about projects.
import {
  acrossOrganizations,
  isoTimestamp,
  type JsonPage,
  type KeyValue,
  keyset,
  type Knex,
  MEMBERSHIP_TABLE,
  readJsonPage,
  type ReplicaRow,
  type Role,
  type Sql,
} from '@taskflow/shared';

type Db = Knex | Knex.Transaction;

const TABLE = 'work.projects';
const COLUMNS = ['id', 'organization_id', 'name', 'description', 'version', 'created_at', 'updated_at'];

export interface ProjectRow {
  id: string;
  organization_id: string;
  name: string;
  description: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** The organization a project belongs to (only that, so no other tenant's data is loaded). */
export async function projectOrganization(db: Db, id: string, options: { keyShare?: boolean } = {}): Promise<string | undefined> {
  const query = db(TABLE).select('organization_id').where({ id }).first();
  // Held while a task is written into the project, so the project cannot be deleted under it.
  if (options.keyShare) query.forKeyShare();
  const row = await query;
  return row?.organization_id as string | undefined;
}

/** The project with the caller's replica row for its organization, in one query (the detail read). */
export async function findProjectWithMembership(
  db: Db,
  id: string,
  userId: string,
): Promise<{ project: ProjectRow; membership: { found: boolean; role: Role | null } } | undefined> {
  const row = (await db(`${TABLE} as p`)
    // One array: given an array first, knex ignores the later arguments (the replica row went missing).
    .select([...COLUMNS.map((c) => `p.${c}`), db.raw('m.user_id is not null as member_row'), 'm.role as member_role'])
    .leftJoin(`${MEMBERSHIP_TABLE} as m`, (join) => join.on('m.organization_id', 'p.organization_id').andOn('m.user_id', db.raw('?', [userId])))
    .where('p.id', id)
    .first()) as (ProjectRow & { member_row: boolean; member_role: Role | null }) | undefined;
  if (!row) return undefined;
  return { project: row, membership: { found: row.member_row, role: row.member_role } };
}

export async function findProject(
  db: Db,
  id: string,
  organizationId: string,
  options: { lock?: 'update' | 'delete' } = {},
): Promise<ProjectRow | undefined> {
  const query = db(TABLE).select(COLUMNS).where({ id, organization_id: organizationId }).first();
  // An update leaves task writes (key share) alone; a delete waits for them and blocks new ones.
  if (options.lock === 'update') query.forNoKeyUpdate();
  if (options.lock === 'delete') query.forUpdate();
  return (await query) as ProjectRow | undefined;
}

export async function insertProject(trx: Knex.Transaction, values: { organization_id: string; name: string; description: string }): Promise<ProjectRow> {
  const [row] = await trx(TABLE).insert(values).returning(COLUMNS);
  return row as ProjectRow;
}

export async function updateProject(trx: Knex.Transaction, id: string, values: Partial<Pick<ProjectRow, 'name' | 'description'>>): Promise<ProjectRow> {
  const [row] = await trx(TABLE)
    .where({ id })
    .update({ ...values, version: trx.raw('version + 1'), updated_at: trx.fn.now() })
    .returning(COLUMNS);
  return row as ProjectRow;
}

export async function deleteProjectRow(trx: Knex.Transaction, id: string): Promise<void> {
  await trx(TABLE).where({ id }).delete();
}

const newestFirst = keyset([
  { column: 'created_at', descending: true },
  { column: 'id', descending: true },
]);

/** A project as the API shows it (`presentProject`: no version), over a page's row `r`. */
const PROJECT_FIELDS = ['r.id', 'r.organization_id as organization', 'r.name', 'r.description', `${isoTimestamp('r.created_at')} as created_at`, `${isoTimestamp('r.updated_at')} as updated_at`].join(', ');

/**
 * One page of `limit` projects, newest first, in the organizations of `organizations` (`organization_id`
 * rows), after `[created_at, id]`, written by PostgreSQL as JSON (`jsonPage`); one prepared statement per shape.
 */
export async function listProjects(db: Knex, organizations: Sql, after: readonly [KeyValue, string] | undefined, limit: number, extra?: Sql): Promise<JsonPage & ReplicaRow> {
  const where = after ? newestFirst.after('projects', after) : undefined;
  const perOrganization: Sql = {
    text: `select ${COLUMNS.map((c) => `projects.${c}`).join(', ')} from ${TABLE} as projects where projects.organization_id = o.organization_id${where ? ` and ${where.text}` : ''} order by ${newestFirst.orderBy('projects')} limit ?`,
    values: [...(where?.values ?? []), limit + 1],
  };
  return readJsonPage(db, {
    rows: acrossOrganizations({ organizations, perOrganization, keyset: newestFirst, limit: limit + 1 }),
    keyset: newestFirst,
    fields: PROJECT_FIELDS,
    cursor: [isoTimestamp('r.created_at'), 'r.id'],
    limit,
    extra,
  });
}

/** Deletes every project of an organization (its tasks must be gone), returning what was deleted. */
export async function deleteProjectsOfOrganization(trx: Knex.Transaction, organizationId: string): Promise<ProjectRow[]> {
  return (await trx(TABLE).where({ organization_id: organizationId }).delete().returning(COLUMNS)) as ProjectRow[];
}

