// Who may do what in the work service: API.md's role table as one pure function.
import { forbidden, type Role } from '@taskflow/shared';

/** The only task fields a member assigned to a task may change. */
export const MEMBER_EDITABLE_TASK_FIELDS: readonly string[] = ['title', 'description', 'status', 'priority', 'due_date'];

export type WorkAction = 'project.create' | 'project.update' | 'project.delete' | 'task.create' | 'task.update' | 'task.delete';

export interface WorkResource {
  /** task.update: the task's current assignee is the caller. */
  assignedToCaller?: boolean;
  /** task.update: every key present in the request body. */
  fields?: readonly string[];
}

/** Scoping has already answered 404 to non-members, so a decision here is allow or 403. */
export type Decision = 'allow' | 'forbidden';

const privileged = (role: Role) => role === 'owner' || role === 'admin';

function allowed(actor: Role, action: WorkAction, resource: WorkResource): boolean {
  switch (action) {
    case 'project.create':
    case 'project.update':
    case 'project.delete':
    case 'task.create':
    case 'task.delete':
      return privileged(actor);
    case 'task.update':
      // Assigning and moving are field changes too (`assigned_to`, `project`): privileged only.
      return privileged(actor) || (resource.assignedToCaller === true && (resource.fields ?? []).every((f) => MEMBER_EDITABLE_TASK_FIELDS.includes(f)));
  }
}

/** May a member whose role is `actor` do `action` to `resource`? */
export function can(actor: Role, action: WorkAction, resource: WorkResource = {}): Decision {
  return allowed(actor, action, resource) ? 'allow' : 'forbidden';
}

/** Why `can` refused, in words that tell the caller what they may do instead. */
export function refusal(action: WorkAction, resource: WorkResource = {}): string {
  if (action !== 'task.update') return 'Only owners and admins may do this.';
  if (resource.assignedToCaller !== true) return "Only owners, admins and the task's assignee may update a task.";
  const refused = (resource.fields ?? []).filter((f) => !MEMBER_EDITABLE_TASK_FIELDS.includes(f)).sort();
  return `As the task's assignee you may change only ${MEMBER_EDITABLE_TASK_FIELDS.join(', ')}; not ${refused.join(', ')}.`;
}

/** Throws 403 unless `can` allows (the caller is already known to be a member). */
export function authorize(actor: Role, action: WorkAction, resource: WorkResource = {}): void {
  if (can(actor, action, resource) !== 'allow') throw forbidden(refusal(action, resource));
}
