// Who may do what in the work service: API.md's role table as one pure function.
import { forbidden, type Role } from '@taskflow/shared';

/** The only task fields a member assigned to a task may change. */
export const MEMBER_EDITABLE_TASK_FIELDS: readonly string[] = ['title', 'description', 'status', 'priority', 'due_date'];

export type WorkAction =
  | { kind: 'view' }
  | { kind: 'project.create' }
  | { kind: 'project.update' }
  | { kind: 'project.delete' }
  | { kind: 'task.create' }
  | { kind: 'task.delete' }
  /** `fields`: every key present in the request body; `assignedToCaller`: the task's current assignee is the caller. */
  | { kind: 'task.update'; assignedToCaller: boolean; fields: readonly string[] };

const privileged = (role: Role) => role === 'owner' || role === 'admin';

export function isAllowed(role: Role, action: WorkAction): boolean {
  switch (action.kind) {
    case 'view':
      return true;
    case 'project.create':
    case 'project.update':
    case 'project.delete':
    case 'task.create':
    case 'task.delete':
      return privileged(role);
    case 'task.update':
      // Assigning and moving are field changes too (`assigned_to`, `project`): privileged only.
      return privileged(role) || (action.assignedToCaller && action.fields.every((f) => MEMBER_EDITABLE_TASK_FIELDS.includes(f)));
  }
}

/** Throws 403 unless `role` may perform `action` (the caller is already known to be a member). */
export function authorize(role: Role, action: WorkAction): void {
  if (!isAllowed(role, action)) throw forbidden();
}
