// Tasks table: every statement about tasks.
import {
  acrossOrganizations,
  isoTimestamp,
  type JsonPage,
  type KeyValue,
  type Keyset,
  keyset,
  type Knex,
  MEMBERSHIP_TABLE,
  preparedRead,
  readJsonPage,
  type ReplicaRow,
  type Role,
  type Sql,
} from '@taskflow/shared';
import type { TaskPriority, TaskStatus } from '../domain/model';
import { TASK_SORT_COLUMNS } from './migrations';

type Db = Knex | Knex.Transaction;

const TABLE = 'work.tasks';
// Dates as text: node-pg would turn a DATE into a local-midnight Date object.
const COLUMNS = [
  'id',
  'organization_id',
  'project_id',
  'title',
  'description',
  'assigned_to',
  'status',
  'priority',
  'created_by',
  'version',
  'created_at',
  'updated_at',
  'priority_rank',
];
const columns = (db: Db) => [...COLUMNS, 'due_key', db.raw('due_date::text as due_date'), db.raw('due_key::text as due_cursor')];

export interface TaskRow {
  id: string;
  organization_id: string;
  project_id: string;
  title: string;
  description: string;
  assigned_to: string | null;
  status: TaskStatus;
  priority: TaskPriority;
  due_date: string | null;
  created_by: string;
  version: number;
  created_at: Date;
  updated_at: Date;
  priority_rank: number;
  /** `due_date`, or 'infinity' when there is none: the sort key of the `due_date` ordering, as text. */
  due_cursor: string;
}

/** The writable columns, by their API names. */
export interface TaskValues {
  project: string;
  title: string;
  description: string;
  assigned_to: string | null;
  status: TaskStatus;
  priority: TaskPriority;
  due_date: string | null;
}

const toColumns = (values: Partial<TaskValues>) => {
  const { project, ...rest } = values;
  return project === undefined ? rest : { ...rest, project_id: project };
};

/** The organization a task belongs to (only that, so no other tenant's data is loaded). */
export async function taskOrganization(db: Db, id: string): Promise<string | undefined> {
  const row = await db(TABLE).select('organization_id').where({ id }).first();
  return row?.organization_id as string | undefined;
}

const TASK_WITH_MEMBERSHIP = `
  select ${COLUMNS.map((c) => `t.${c}`).join(', ')}, t.due_key, t.due_date::text as due_date, t.due_key::text as due_cursor,
         m.user_id is not null as member_row, m.role as member_role
    from ${TABLE} t
    left join work.${MEMBERSHIP_TABLE} m on m.organization_id = t.organization_id and m.user_id = $2
   where t.id = $1`;

/** The task with the caller's replica row for its organization: the detail read, one round trip. */
export async function findTaskWithMembership(
  db: Knex,
  id: string,
  userId: string,
): Promise<{ task: TaskRow; membership: { found: boolean; role: Role | null } } | undefined> {
  const [row] = await preparedRead<TaskRow & { member_row: boolean; member_role: Role | null }>(db, TASK_WITH_MEMBERSHIP, [id, userId]);
  if (!row) return undefined;
  return { task: row, membership: { found: row.member_row, role: row.member_role } };
}

export async function findTask(db: Db, id: string, organizationId: string, options: { forUpdate?: boolean } = {}): Promise<TaskRow | undefined> {
  const query = db(TABLE).select(columns(db)).where({ id, organization_id: organizationId }).first();
  if (options.forUpdate) query.forUpdate();
  return (await query) as TaskRow | undefined;
}

export async function insertTask(trx: Knex.Transaction, values: TaskValues & { organization_id: string; created_by: string }): Promise<TaskRow> {
  const [row] = await trx(TABLE).insert(toColumns(values)).returning(columns(trx));
  return row as TaskRow;
}

export async function updateTaskRow(trx: Knex.Transaction, id: string, values: Partial<TaskValues>): Promise<TaskRow> {
  const [row] = await trx(TABLE)
    .where({ id })
    .update({ ...toColumns(values), version: trx.raw('version + 1'), updated_at: trx.fn.now() })
    .returning(columns(trx));
  return row as TaskRow;
}

export async function deleteTaskRow(trx: Knex.Transaction, id: string): Promise<void> {
  await trx(TABLE).where({ id }).delete();
}

export async function deleteTasksWhere(trx: Knex.Transaction, where: { project_id: string } | { organization_id: string }): Promise<TaskRow[]> {
  return (await trx(TABLE).where(where).delete().returning(columns(trx))) as TaskRow[];
}

/** Unassigns every task of `userId` in an organization; returns the tasks as they were before. */
export async function unassignTasksOf(trx: Knex.Transaction, organizationId: string, userId: string): Promise<TaskRow[]> {
  const rows = (await trx(TABLE)
    .where({ organization_id: organizationId, assigned_to: userId })
    .update({ assigned_to: null, version: trx.raw('version + 1'), updated_at: trx.fn.now() })
    .returning(columns(trx))) as TaskRow[];
  return rows.map((row) => ({ ...row, assigned_to: userId }));
}

export interface TaskFilters {
  project?: string;
  statuses?: TaskStatus[];
  priority?: TaskPriority;
  /** A user id, or null for unassigned tasks. */
  assignedTo?: string | null;
  /** Inclusive bounds on `due_date`; tasks without one never match. */
  dueBefore?: string;
  dueAfter?: string;
  /** Case-insensitive text in the title or the description. */
  q?: string;
}

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * A pattern pg_trgm extracts at least one trigram from: 3 ASCII letters or digits in a row (word
 * characters in every locale). Only such a pattern can be answered from the search index; a shorter one
 * would make it list every entry, so it keeps the plain organization condition and its plan.
 */
export const hasTrigram = (text: string) => /[a-z0-9]{3}/i.test(text);

/**
 * The search of a pattern with a trigram, organization included. Each arm of the OR compares the
 * organization as text, the leading column of the search index (`tasks_org_text_trgm`: organization,
 * title, description), so the index is entered with the organization and the pattern together and no
 * btree index can serve the organization: with statistics that have not yet seen a tenant's new rows
 * (until autovacuum's analyze), the plain `organization_id = ?` made the planner walk the organization's
 * tasks in list order through the btree and match every description (~1 s for 4,000 10 KB tasks). The
 * arms write the comparison in opposite orders on purpose: PostgreSQL factors a condition common to
 * every arm out of an OR (`org = x and (title or description)`), and the organization alone would
 * again be an index condition to walk from.
 */
const ORGANIZATION_TEXT_SEARCH =
  `((tasks.organization_id::text = o.organization_id::text and tasks.title ilike ? escape '\\')` +
  ` or (o.organization_id::text = tasks.organization_id::text and tasks.description ilike ? escape '\\'))`;

/**
 * Matching a pattern against a description of kilobytes (read from TOAST, decompressed, case-folded)
 * costs ~100 µs, while the planner prices every operator at the default 0.0025 (well under a µs): it
 * then prefers reading the organization's tasks in order and filtering each (a flood of 7,000 10 KB
 * tasks: ~600 ms per search) over the trigram indexes (a few ms). A text search is planned with an
 * operator cost closer to that; small organizations still read their few rows by the list index.
 */
export const TEXT_SEARCH_OPERATOR_COST = 0.25;

/** A task list ordering: a sort field, `-` for descending. */
export type TaskOrdering = keyof typeof TASK_SORT_COLUMNS | `-${keyof typeof TASK_SORT_COLUMNS}`;

/** Each ordering's keyset: its sort column, then id, both in its direction. */
const TASK_KEYSETS = Object.fromEntries(
  Object.entries(TASK_SORT_COLUMNS).flatMap(([field, column]) =>
    [false, true].map((descending) => [
      `${descending ? '-' : ''}${field}`,
      keyset([
        { column, descending },
        { column: 'id', descending },
      ]),
    ]),
  ),
) as Record<TaskOrdering, Keyset>;

/** Where a task page starts: its ordering and, after the first page, the last row's sort value and id. */
export interface TaskSort {
  ordering: TaskOrdering;
  after?: readonly [KeyValue, string];
}

/** The columns a task page reads: what the API shows and the sort keys. */
const PAGE_COLUMNS = [...COLUMNS, 'due_date', 'due_key'].map((c) => `tasks.${c}`).join(', ');

/** A task as the API shows it, over a page's row `r` (the order and names of `presentTask`). */
const TASK_FIELDS = [
  'r.id',
  'r.organization_id as organization',
  'r.project_id as project',
  'r.title',
  'r.description',
  'r.assigned_to',
  'r.status',
  'r.priority',
  'r.due_date::text as due_date',
  'r.created_by',
  `${isoTimestamp('r.created_at')} as created_at`,
  `${isoTimestamp('r.updated_at')} as updated_at`,
  'r.version',
].join(', ');

/** The sort value a cursor carries for each ordering's field, over a page's row `r` (as `taskCursorOf` took it from a row). */
const CURSOR_VALUE: Record<keyof typeof TASK_SORT_COLUMNS, string> = {
  created_at: isoTimestamp('r.created_at'),
  updated_at: isoTimestamp('r.updated_at'),
  due_date: 'r.due_key::text',
  priority: 'r.priority_rank',
};

/**
 * One page of `limit` tasks in the organizations of `organizations` (`organization_id` rows), written by
 * PostgreSQL as JSON (`jsonPage`), with `extra` select-list items. One constant statement per filter shape,
 * run as a named prepared statement; a text search runs with its planner settings (`plannedForFilters`).
 */
export async function listTasks(db: Knex, organizations: Sql, filters: TaskFilters, sort: TaskSort, limit: number, extra?: Sql): Promise<JsonPage & ReplicaRow> {
  return plannedForFilters(db, filters, (planned) => readJsonPage(planned, taskPage(organizations, filters, sort, limit, extra)));
}

/**
 * Runs `read` with the planner settings a task page with `filters` is read with (exported so a test can
 * EXPLAIN it). A text search is planned for its own pattern every time (a prepared statement's generic
 * plan would not know it), with `TEXT_SEARCH_OPERATOR_COST`; one with a trigram also without sequential
 * and plain index scans, so that the search index is its only way into the tasks even when the
 * statistics misjudge how common the pattern is (a table scan matching every text instead).
 */
export async function plannedForFilters<T>(db: Knex, filters: TaskFilters, read: (planned: Knex) => Promise<T>): Promise<T> {
  if (filters.q === undefined) return read(db);
  const settings: Record<string, string> = { cpu_operator_cost: String(TEXT_SEARCH_OPERATOR_COST), plan_cache_mode: 'force_custom_plan' };
  if (hasTrigram(filters.q)) Object.assign(settings, { enable_seqscan: 'off', enable_indexscan: 'off' });
  return db.transaction(async (trx) => {
    const entries = Object.entries(settings);
    await trx.raw(`select ${entries.map(() => 'set_config(?, ?, true)').join(', ')}`, entries.flat());
    return read(trx);
  });
}

function taskPage(organizations: Sql, filters: TaskFilters, sort: TaskSort, limit: number, extra?: Sql) {
  const field = sort.ordering.replace(/^-/, '') as keyof typeof TASK_SORT_COLUMNS;
  return {
    rows: taskPageQuery(organizations, filters, sort, limit + 1),
    keyset: TASK_KEYSETS[sort.ordering],
    fields: TASK_FIELDS,
    cursor: [CURSOR_VALUE[field], 'r.id'],
    limit,
    extra,
  };
}

/**
 * The rows of a task page, in its order (exported so a test can EXPLAIN it): the text depends only on
 * which filters are given (every value is a parameter, statuses one array), so each shape is one
 * prepared statement.
 */
export function taskPageQuery(organizations: Sql, filters: TaskFilters, sort: TaskSort, limit: number): Sql {
  const trigramSearch = filters.q !== undefined && hasTrigram(filters.q);
  // A search with a trigram compares the organization inside its text condition (ORGANIZATION_TEXT_SEARCH).
  const where = trigramSearch ? [] : ['tasks.organization_id = o.organization_id'];
  const values: Knex.Value[] = [];
  const add = (condition: string, ...params: Knex.Value[]) => {
    where.push(condition);
    values.push(...params);
  };
  if (filters.project !== undefined) add('tasks.project_id = ?', filters.project);
  if (filters.statuses?.length) add('tasks.status = any(?)', filters.statuses);
  if (filters.priority !== undefined) add('tasks.priority = ?', filters.priority);
  if (filters.assignedTo === null) add('tasks.assigned_to is null');
  else if (filters.assignedTo !== undefined) add('tasks.assigned_to = ?', filters.assignedTo);
  if (filters.dueBefore !== undefined) add('tasks.due_date <= ?', filters.dueBefore);
  if (filters.dueAfter !== undefined) add('tasks.due_date >= ?', filters.dueAfter);
  if (filters.q !== undefined) {
    const pattern = likePattern(filters.q);
    if (trigramSearch) add(ORGANIZATION_TEXT_SEARCH, pattern, pattern);
    else add(`(tasks.title ilike ? escape '\\' or tasks.description ilike ? escape '\\')`, pattern, pattern);
  }
  const set = TASK_KEYSETS[sort.ordering];
  if (sort.after) {
    const after = set.after('tasks', sort.after);
    add(after.text, ...after.values);
  }
  const perOrganization = {
    text: `select ${PAGE_COLUMNS} from ${TABLE} as tasks where ${where.join(' and ')} order by ${set.orderBy('tasks')} limit ?`,
    values: [...values, limit],
  };
  return acrossOrganizations({ organizations, perOrganization, keyset: set, limit });
}

/** The replica's answer for one membership, read with a share lock so a concurrent removal waits for (or is seen by) this transaction. */
export async function lockedRoleOf(trx: Knex.Transaction, organizationId: string, userId: string): Promise<string | null> {
  const row = await trx(MEMBERSHIP_TABLE).select('role').where({ organization_id: organizationId, user_id: userId }).forShare().first();
  return (row?.role as string | null | undefined) ?? null;
}
