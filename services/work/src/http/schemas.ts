// Request and response schemas of the work API: they validate input and are the OpenAPI document.
import { cursor, encodeCursor, idFilter, isoDate, isoDateTime, malformedIdToNil, multiLineText, pageQuery, pageSchema, sameOrdering, singleLineText } from '@taskflow/shared';
import { z } from 'zod';
import { TASK_PRIORITIES, TASK_STATUSES } from '../domain/model';

export const id = z.guid();
export const idParams = z.object({ id });

/** Names and titles: no control characters (API.md, Values). */
const trimmed = (max: number) => singleLineText().min(1).max(max);
const description = multiLineText().max(10_000);
/** A real calendar day, `YYYY-MM-DD`, in the years 0001-9999. */
const dueDate = isoDate();
const status = z.enum(TASK_STATUSES);
const priority = z.enum(TASK_PRIORITIES);

// ---- examples for the OpenAPI document: Ada's organization, its roadmap project and one task in it

const ADA_ID = '3f2b8c1e-6d4a-4b7e-9a1c-2e5f7d8b9c0a';
const GRACE_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const ORG_ID = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
const PROJECT_ID = '9b2f1c3d-4e5a-4f6b-8c7d-0e1f2a3b4c5d';
const TASK_ID = 'c56a4180-65aa-42ec-a945-5fd21dec0538';
const projectExample = {
  id: PROJECT_ID,
  organization: ORG_ID,
  name: 'Q2 Roadmap',
  description: 'Everything we ship before the summer release.',
  created_at: '2026-03-02T09:31:05.267Z',
  updated_at: '2026-03-04T16:12:48.930Z',
};
const taskExample = {
  id: TASK_ID,
  organization: ORG_ID,
  project: PROJECT_ID,
  title: 'Write the API spec',
  description: 'Cover every endpoint with request and response examples.',
  assigned_to: GRACE_ID,
  status: 'in_progress',
  priority: 'high',
  due_date: '2026-04-15',
  created_by: ADA_ID,
  created_at: '2026-03-02T10:04:11.902Z',
  updated_at: '2026-03-05T08:27:33.415Z',
  version: 3,
};

// ---- projects

export const projectSchema = z.object({
  id,
  organization: id,
  name: z.string(),
  description: z.string(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
}).meta({ id: 'Project', examples: [projectExample] });

export const createProjectBody = z
  .strictObject({
    organization: id,
    name: trimmed(255),
    description: description.default(''),
  })
  .meta({ examples: [{ organization: ORG_ID, name: 'Q2 Roadmap', description: 'Everything we ship before the summer release.' }] });

const projectFields = z.strictObject({ name: trimmed(255), description });
export const putProjectBody = projectFields.meta({ examples: [{ name: 'Q2 Roadmap', description: 'Everything we ship before the summer release.' }] });
export const patchProjectBody = projectFields.partial().meta({ examples: [{ name: 'Q2 Roadmap (revised)' }] });

/** Projects resume after the last one's `[created_at, id]`. */
export const projectListQuery = pageQuery(cursor(z.tuple([isoDateTime(), z.guid()]))).extend({
  organization: idFilter('Only this organization (404 if the caller is not a member, or the id is malformed).').optional(),
});

export const projectPageSchema = pageSchema(projectSchema).meta({
  id: 'ProjectPage',
  examples: [{ results: [projectExample], next: `/api/v1/projects?limit=1&cursor=${encodeCursor([projectExample.created_at, PROJECT_ID])}` }],
});

// ---- tasks

export const taskSchema = z.object({
  id,
  organization: id,
  project: id,
  title: z.string(),
  description: z.string(),
  assigned_to: id.nullable(),
  status,
  priority,
  due_date: dueDate.nullable(),
  created_by: id,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  version: z.number().int(),
}).meta({ id: 'Task', examples: [taskExample] });

export const createTaskBody = z
  .strictObject({
    project: id,
    title: trimmed(255),
    description: description.default(''),
    assigned_to: id.nullable().default(null),
    status: status.default('todo'),
    priority: priority.default('medium'),
    due_date: dueDate.nullable().default(null),
  })
  .meta({
    examples: [
      {
        project: PROJECT_ID,
        title: 'Write the API spec',
        description: 'Cover every endpoint with request and response examples.',
        assigned_to: GRACE_ID,
        priority: 'high',
        due_date: '2026-04-15',
      },
    ],
  });

const writableTaskFields = {
  project: id,
  title: trimmed(255),
  description,
  assigned_to: id.nullable(),
  status,
  priority,
  due_date: dueDate.nullable(),
};

/**
 * Other keys are passed through to the use case: a member sending any field beyond `title`,
 * `description`, `status`, `priority`, `due_date` is refused with 403, anyone else with 400.
 */
// Unknown fields pass validation so the policy can answer them (403 for an assigned member, 400 naming the
// field otherwise); the document says what a client may send.
export const putTaskBody = z
  .object(writableTaskFields)
  .catchall(z.unknown())
  .meta({
    additionalProperties: false,
    examples: [
      {
        project: PROJECT_ID,
        title: 'Write the API spec',
        description: 'Cover every endpoint with request and response examples.',
        assigned_to: GRACE_ID,
        status: 'review',
        priority: 'high',
        due_date: '2026-04-15',
      },
    ],
  });
export const patchTaskBody = z
  .object(writableTaskFields)
  .partial()
  .catchall(z.unknown())
  .meta({ additionalProperties: false, examples: [{ status: 'done', due_date: null }] });

export const TASK_ORDERINGS = ['created_at', 'updated_at', 'due_date', 'priority'] as const;
export type TaskSortField = (typeof TASK_ORDERINGS)[number];

/** The sort value a task cursor holds for each field: `due_date` is 'infinity' for tasks without one. */
const taskSortValue: Record<TaskSortField, z.ZodType<string | number>> = {
  created_at: isoDateTime(),
  updated_at: isoDateTime(),
  due_date: z.union([isoDate(), z.literal('infinity')]),
  priority: z.number().int().min(1).max(3),
};

/** Tasks resume after the last one's `[ordering, sort value, id]`; `sameOrdering` refuses it under another ordering. */
const taskCursor = cursor(
  z.union(
    TASK_ORDERINGS.flatMap((field) => [field, `-${field}`].map((ordering) => z.tuple([z.literal(ordering), taskSortValue[field], z.guid()]))),
  ),
);

/** A query value given once or repeated (`?status=a&status=b`). */
const repeatable = <T extends z.ZodType>(item: T) => z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(item).max(10));

export const taskListQuery = pageQuery(taskCursor)
  .extend({
    organization: idFilter('Only this organization (404 if the caller is not a member, or the id is malformed).').optional(),
    project: idFilter('Only this project (a project the caller cannot see, or a malformed id, gives an empty page, as one that does not exist).').optional(),
    status: repeatable(status).optional().meta({ description: 'Repeatable: any of the given statuses.' }),
    priority: priority.optional(),
    assigned_to: z
      .preprocess((v) => (v === 'me' || v === 'none' ? v : malformedIdToNil(v)), z.union([id, z.literal('me'), z.literal('none')]))
      .optional()
      .meta({ description: 'A user id, `me` or `none` (unassigned); a malformed id matches nothing.' }),
    due_before: dueDate.optional().meta({ description: 'Due on or before this day (tasks without a due date never match).' }),
    due_after: dueDate.optional().meta({ description: 'Due on or after this day (tasks without a due date never match).' }),
    q: z.string().min(1).max(200).optional().meta({ description: 'Case-insensitive text in the title or the description.' }),
    ordering: z
      .enum([...TASK_ORDERINGS, ...TASK_ORDERINGS.map((o) => `-${o}` as const)])
      .default('-created_at')
      .meta({
        description:
          'Sort field, `-` for descending; ties are broken by id. `priority` ranks low < medium < high. `due_date`: tasks without one sort after every date (last ascending, first descending).',
      }),
  })
  .superRefine(sameOrdering);

export const taskPageSchema = pageSchema(taskSchema).meta({
  id: 'TaskPage',
  examples: [{ results: [taskExample], next: `/api/v1/tasks?limit=1&cursor=${encodeCursor(['-created_at', taskExample.created_at, TASK_ID])}` }],
});
