// The work schema: the shared mechanisms' tables, then projects and tasks with an index per hot list.
import { idempotencyMigration, inboxMigration, inboxRetentionMigration, type Knex, membershipReplicaMigration, type Migration, outboxMigration } from '@taskflow/shared';

export const WORK_SCHEMA = 'work';

/** Task list orderings and the column each sorts by (ties broken by id in the same direction). */
export const TASK_SORT_COLUMNS = {
  created_at: 'created_at',
  updated_at: 'updated_at',
  due_date: 'due_key',
  priority: 'priority_rank',
} as const;

const projectsAndTasks: Migration = {
  name: '001_projects_tasks',
  async up(db) {
    // Timestamps keep milliseconds only, so a value read into a JS Date (and a cursor) is exact.
    await db.raw(`
      create table work.projects (
        id uuid primary key default gen_random_uuid(),
        organization_id uuid not null,
        name varchar(255) not null,
        description text not null default '',
        version integer not null default 1,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now(),
        constraint projects_organization_id_key unique (organization_id, id)
      )`);
    await db.raw('create index projects_org_created on work.projects (organization_id, created_at, id)');

    // (organization_id, project_id) references the project's own organization: a task can never
    // sit in a project of another organization, whatever the application does.
    await db.raw(`
      create table work.tasks (
        id uuid primary key default gen_random_uuid(),
        organization_id uuid not null,
        project_id uuid not null,
        title varchar(255) not null,
        description text not null default '',
        assigned_to uuid,
        status text not null default 'todo' check (status in ('todo', 'in_progress', 'review', 'done')),
        priority text not null default 'medium' check (priority in ('low', 'medium', 'high')),
        due_date date,
        created_by uuid not null,
        version integer not null default 1,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now(),
        -- Sort keys for keyset pagination: never NULL, so (key, id) comparisons are total.
        priority_rank smallint generated always as (case priority when 'high' then 3 when 'medium' then 2 else 1 end) stored,
        due_key date generated always as (coalesce(due_date, 'infinity'::date)) stored,
        constraint tasks_project_fk foreign key (organization_id, project_id) references work.projects (organization_id, id)
      )`);
    // Every list is a scan of one of these, in either direction: by organization, by project, and
    // by assignee within an organization ("assigned to me"), for each ordering. Every query also
    // compares organization_id (scoping), so it leads or follows each equality column: all the
    // conditions are index bounds and the scan returns rows already in order.
    for (const column of Object.values(TASK_SORT_COLUMNS)) {
      await db.raw(`create index tasks_org_${column} on work.tasks (organization_id, ${column}, id)`);
      await db.raw(`create index tasks_project_${column} on work.tasks (organization_id, project_id, ${column}, id)`);
      await db.raw(`create index tasks_assignee_${column} on work.tasks (assigned_to, organization_id, ${column}, id)`);
    }
    // A project lies in exactly one organization: without this the planner multiplies the two
    // selectivities and underestimates project lists.
    await db.raw('create statistics tasks_project_organization (dependencies) on project_id, organization_id from work.tasks');
  },
  async down(db) {
    await db.raw('drop table if exists work.tasks, work.projects');
  },
};

/**
 * `q=` (ILIKE '%text%' on title or description) answered from trigram indexes instead of reading
 * every task of the organization (10 KB descriptions made one search cost ~280 ms and slowed every
 * tenant). pg_trgm is database-wide: it goes to `public` (on every service's search path, not the
 * first schema of this migration's path), and the operator class is named with the schema the
 * extension really lives in, in case it was installed elsewhere before. The ILIKE operator itself is
 * pg_catalog's, so the service's queries need no search-path change to use the indexes.
 * fastupdate off: a flood of inserts would otherwise sit in the GIN pending list (up to 4 MB), which
 * every search reads linearly and which makes the planner price the index above a scan of the table.
 */
const taskTextSearch: Migration = {
  name: '002_task_text_search',
  async up(db) {
    // Two services (or two databases' migrations) creating an extension at once collide in pg_extension.
    await db.raw(`select pg_advisory_xact_lock(hashtext('taskflow.create_extension'))`);
    await db.raw('create extension if not exists pg_trgm schema public');
    const { rows } = await db.raw(`select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`);
    const opclass = `"${String(rows[0].nspname).replace(/"/g, '""')}".gin_trgm_ops`;
    await db.raw(`create index tasks_title_trgm on work.tasks using gin (title ${opclass}) with (fastupdate = off)`);
    await db.raw(`create index tasks_description_trgm on work.tasks using gin (description ${opclass}) with (fastupdate = off)`);
  },
  async down(db) {
    await db.raw('drop index if exists work.tasks_title_trgm, work.tasks_description_trgm');
  },
};

/** Organizations tenancy deleted: a create that arrives after the deletion was applied is refused, never orphaned. */
const deletedOrganizations: Migration = {
  name: '003_deleted_organizations',
  async up(db) {
    await db.raw(`
      create table work.deleted_organizations (
        organization_id uuid primary key,
        deleted_at timestamptz(3) not null default now()
      )`);
  },
  async down(db) {
    await db.raw('drop table if exists work.deleted_organizations');
  },
};

/**
 * `q=` with the organization inside the text index: one GIN index of the organization (as text, btree_gin's
 * default text class) and both text columns (trigrams), replacing 002's trigram-only indexes. A search
 * with a trigram compares the organization in that form only, inside each arm of its OR
 * (`ORGANIZATION_TEXT_SEARCH` in db/tasks.ts): no btree index serves it, and this index is always
 * entered with the organization and the pattern together, so the plan no longer depends on statistics
 * having seen the organization's rows, and another tenant's matching rows are never read. One index for
 * both columns, not one per column: with two, an arm could enter the other column's index with the
 * organization alone. btree_gin goes to `public` like pg_trgm.
 */
const taskSearchByOrganization: Migration = {
  name: '004_task_search_by_organization',
  async up(db) {
    await db.raw(`select pg_advisory_xact_lock(hashtext('taskflow.create_extension'))`);
    await db.raw('create extension if not exists btree_gin schema public');
    const opclass = await trigramOpclass(db);
    await db.raw(
      `create index tasks_org_text_trgm on work.tasks using gin ((organization_id::text), title ${opclass}, description ${opclass}) with (fastupdate = off)`,
    );
    await db.raw('drop index work.tasks_title_trgm, work.tasks_description_trgm');
  },
  async down(db) {
    const opclass = await trigramOpclass(db);
    await db.raw(`create index tasks_title_trgm on work.tasks using gin (title ${opclass}) with (fastupdate = off)`);
    await db.raw(`create index tasks_description_trgm on work.tasks using gin (description ${opclass}) with (fastupdate = off)`);
    await db.raw('drop index work.tasks_org_text_trgm');
  },
};

/** pg_trgm's GIN operator class, named with the schema the extension really lives in. */
async function trigramOpclass(db: Knex): Promise<string> {
  const { rows } = await db.raw(`select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`);
  return `"${String(rows[0].nspname).replace(/"/g, '""')}".gin_trgm_ops`;
}

export const migrations: readonly Migration[] = [
  outboxMigration,
  inboxMigration,
  idempotencyMigration,
  membershipReplicaMigration,
  projectsAndTasks,
  taskTextSearch,
  deletedOrganizations,
  inboxRetentionMigration,
  taskSearchByOrganization,
];
