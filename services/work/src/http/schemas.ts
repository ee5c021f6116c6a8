// Request and response schemas of the work API: they validate input and are the OpenAPI document.
import { idFilter, malformedIdToNil, pageQuerySchema, pageSchema } from '@taskflow/shared';
import { z } from 'zod';
import { TASK_PRIORITIES, TASK_STATUSES } from '../domain/model';

export const id = z.guid();
export const idParams = z.object({ id });

const trimmed = (max: number) => z.string().trim().min(1).max(max);
const description = z.string().max(10_000);
/** A real calendar day, `YYYY-MM-DD`. */
const isoDate = z.iso.date();
const status = z.enum(TASK_STATUSES);
const priority = z.enum(TASK_PRIORITIES);

// ---- projects

export const projectSchema = z.object({
  id,
  organization: id,
  name: z.string(),
  description: z.string(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

export const createProjectBody = z.strictObject({
  organization: id,
  name: trimmed(255),
  description: description.default(''),
});

export const putProjectBody = z.strictObject({ name: trimmed(255), description });
export const patchProjectBody = putProjectBody.partial();

export const projectListQuery = pageQuerySchema.extend({
  organization: idFilter('Only this organization (404 if the caller is not a member, or the id is malformed).').optional(),
});

export const projectPageSchema = pageSchema(projectSchema);

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
  due_date: isoDate.nullable(),
  created_by: id,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  version: z.number().int(),
});

export const createTaskBody = z.strictObject({
  project: id,
  title: trimmed(255),
  description: description.default(''),
  assigned_to: id.nullable().default(null),
  status: status.default('todo'),
  priority: priority.default('medium'),
  due_date: isoDate.nullable().default(null),
});

const writableTaskFields = {
  project: id,
  title: trimmed(255),
  description,
  assigned_to: id.nullable(),
  status,
  priority,
  due_date: isoDate.nullable(),
};

/**
 * Other keys are passed through to the use case: a member sending any field beyond `title`,
 * `description`, `status`, `priority`, `due_date` is refused with 403, anyone else with 400.
 */
// Unknown fields pass validation so the policy can answer them (403 for an assigned member, 400 naming the
// field otherwise); the document says what a client may send.
export const putTaskBody = z.object(writableTaskFields).catchall(z.unknown()).meta({ additionalProperties: false });
export const patchTaskBody = z.object(writableTaskFields).partial().catchall(z.unknown()).meta({ additionalProperties: false });

export const TASK_ORDERINGS = ['created_at', 'updated_at', 'due_date', 'priority'] as const;
export type TaskOrdering = (typeof TASK_ORDERINGS)[number];

/** A query value given once or repeated (`?status=a&status=b`). */
const repeatable = <T extends z.ZodType>(item: T) => z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(item).max(10));

export const taskListQuery = pageQuerySchema.extend({
  organization: idFilter('Only this organization (404 if the caller is not a member, or the id is malformed).').optional(),
  project: idFilter('Only this project (a project the caller cannot see, or a malformed id, gives an empty page, as one that does not exist).').optional(),
  status: repeatable(status).optional().meta({ description: 'Repeatable: any of the given statuses.' }),
  priority: priority.optional(),
  assigned_to: z
    .preprocess((v) => (v === 'me' || v === 'none' ? v : malformedIdToNil(v)), z.union([id, z.literal('me'), z.literal('none')]))
    .optional()
    .meta({ description: 'A user id, `me` or `none` (unassigned); a malformed id matches nothing.' }),
  due_before: isoDate.optional().meta({ description: 'Due on or before this day (tasks without a due date never match).' }),
  due_after: isoDate.optional().meta({ description: 'Due on or after this day (tasks without a due date never match).' }),
  q: z.string().min(1).max(200).optional().meta({ description: 'Case-insensitive text in the title or the description.' }),
  ordering: z
    .enum([...TASK_ORDERINGS, ...TASK_ORDERINGS.map((o) => `-${o}` as const)])
    .default('-created_at')
    .meta({
      description:
        'Sort field, `-` for descending; ties are broken by id. `priority` ranks low < medium < high. `due_date`: tasks without one sort after every date (last ascending, first descending).',
    }),
});

export const taskPageSchema = pageSchema(taskSchema);
