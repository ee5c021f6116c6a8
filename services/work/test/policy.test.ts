// API.md's role table for projects and tasks, cell by cell (Y: allowed, N: 403).
import type { Role } from '@taskflow/shared';
import { can, MEMBER_EDITABLE_TASK_FIELDS, type WorkAction } from '../src/domain/policy';

const Y = true, N = false;
const roles: Role[] = ['owner', 'admin', 'member'];

// Columns: owner, admin, member.
const actions: Array<[WorkAction, [boolean, boolean, boolean]]> = [
  ['project.create', [Y, Y, N]],
  ['project.update', [Y, Y, N]],
  ['project.delete', [Y, Y, N]],
  ['task.create', [Y, Y, N]],
  ['task.delete', [Y, Y, N]],
];

// Updating a task by the fields in the body. Columns: owner assigned, owner not, admin assigned, admin not,
// member assigned, member not.
const taskUpdates: Array<[string, string[], [boolean, boolean, boolean, boolean, boolean, boolean]]> = [
  ['no field', [], [Y, Y, Y, Y, Y, N]],
  ['title', ['title'], [Y, Y, Y, Y, Y, N]],
  ['description', ['description'], [Y, Y, Y, Y, Y, N]],
  ['status', ['status'], [Y, Y, Y, Y, Y, N]],
  ['priority', ['priority'], [Y, Y, Y, Y, Y, N]],
  ['due_date', ['due_date'], [Y, Y, Y, Y, Y, N]],
  ['all of title, description, status, priority, due_date', ['title', 'description', 'status', 'priority', 'due_date'], [Y, Y, Y, Y, Y, N]],
  ['assigned_to (assign)', ['assigned_to'], [Y, Y, Y, Y, N, N]],
  ['project (move)', ['project'], [Y, Y, Y, Y, N, N]],
  ['title + assigned_to', ['title', 'assigned_to'], [Y, Y, Y, Y, N, N]],
  ['status + project', ['status', 'project'], [Y, Y, Y, Y, N, N]],
  ['a read-only field (organization)', ['organization'], [Y, Y, Y, Y, N, N]],
  ['a read-only field (created_by)', ['created_by'], [Y, Y, Y, Y, N, N]],
  ['an unknown field', ['colour'], [Y, Y, Y, Y, N, N]],
  ['the full PUT set', ['project', 'title', 'description', 'assigned_to', 'status', 'priority', 'due_date'], [Y, Y, Y, Y, N, N]],
];

describe('work policy', () => {
  describe.each(actions)('%s', (kind, row) => {
    it.each(roles.map((role, i) => [role, row[i]!] as const))('%s: allowed = %s', (role, expected) => {
      expect(can(role, kind) === 'allow').toBe(expected);
    });
  });

  describe.each(taskUpdates)('task.update of %s', (_label, fields, row) => {
    const cells = roles.flatMap((role) => [true, false].map((assigned) => [role, assigned] as const));
    it.each(cells.map(([role, assigned], i) => [role, assigned, row[i]!] as const))('%s (assigned: %s): allowed = %s', (role, assigned, expected) => {
      expect(can(role, 'task.update', { assignedToCaller: assigned, fields }) === 'allow').toBe(expected);
    });
  });

  it('lets a member change only title, description, status, priority and due_date', () => {
    expect([...MEMBER_EDITABLE_TASK_FIELDS].sort()).toEqual(['description', 'due_date', 'priority', 'status', 'title']);
  });
});
