import type { Role } from '@taskflow/shared';
import { can, MEMBER_EDITABLE_TASK_FIELDS, type WorkAction } from '../src/domain/policy';

const roles: Role[] = ['owner', 'admin', 'member'];
const privileged = (role: Role) => role !== 'member';

describe('work policy', () => {
  describe.each(roles)('%s', (role) => {
    it.each([
      { name: 'create a project', action: 'project.create', expected: privileged(role) },
      { name: 'update a project', action: 'project.update', expected: privileged(role) },
      { name: 'delete a project', action: 'project.delete', expected: privileged(role) },
      { name: 'create a task', action: 'task.create', expected: privileged(role) },
      { name: 'delete a task', action: 'task.delete', expected: privileged(role) },
    ] as Array<{ name: string; action: WorkAction; expected: boolean }>)('$name: allowed = $expected', ({ action, expected }) => {
      expect(can(role, action)).toBe(expected ? 'allow' : 'forbidden');
    });
  });

  const fieldSets: Array<[string, string[]]> = [
    ['no field', []],
    ...MEMBER_EDITABLE_TASK_FIELDS.map((f): [string, string[]] => [f, [f]]),
    ['all member fields', [...MEMBER_EDITABLE_TASK_FIELDS]],
    ['assigned_to (assign)', ['assigned_to']],
    ['project (move)', ['project']],
    ['title + assigned_to', ['title', 'assigned_to']],
    ['status + project', ['status', 'project']],
    ['a read-only field (organization)', ['organization']],
    ['a read-only field (created_by)', ['created_by']],
    ['an unknown field', ['colour']],
    ['the full PUT set', ['project', 'title', 'description', 'assigned_to', 'status', 'priority', 'due_date']],
  ];
  const memberFieldsOnly = (fields: string[]) => fields.every((f) => MEMBER_EDITABLE_TASK_FIELDS.includes(f));

  const cases = roles.flatMap((role) =>
    [true, false].flatMap((assigned) =>
      fieldSets.map(([label, fields]) => ({
        role,
        assigned,
        label,
        fields,
        expected: privileged(role) || (assigned && memberFieldsOnly(fields)),
      })),
    ),
  );

  it.each(cases)('$role (assigned: $assigned) updating $label of a task: allowed = $expected', ({ role, assigned, fields, expected }) => {
    expect(can(role, 'task.update', { assignedToCaller: assigned, fields })).toBe(expected ? 'allow' : 'forbidden');
  });

  it('lets a member change only title, description, status, priority and due_date', () => {
    expect([...MEMBER_EDITABLE_TASK_FIELDS].sort()).toEqual(['description', 'due_date', 'priority', 'status', 'title']);
  });
});
