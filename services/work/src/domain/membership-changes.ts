// What tenancy's membership and organization events mean for projects and tasks.
import { applyMembershipEvent, type EventEnvelope, type Knex, type Outbox } from '@taskflow/shared';
import { closeOrganization } from '../db/organizations';
import * as projects from '../db/projects';
import * as tasks from '../db/tasks';
import { actorOfEnvelope, projectDeleted, taskDeleted, taskUpdated } from './events';

type MembershipEvent = EventEnvelope<'tenancy.membership.added' | 'tenancy.membership.role_changed' | 'tenancy.membership.removed'>;

/** Added or changed: the replica keeps the newest version. */
export async function recordMembership(trx: Knex.Transaction, event: MembershipEvent): Promise<void> {
  await applyMembershipEvent(trx, event);
}

/** A member left or was removed: the replica forgets them and their tasks in that organization become unassigned. */
export async function removeMember(outbox: Outbox, trx: Knex.Transaction, event: EventEnvelope<'tenancy.membership.removed'>): Promise<void> {
  // An older removal than what the replica holds (the user has since rejoined) changes nothing.
  if (!(await applyMembershipEvent(trx, event))) return;
  const unassigned = await tasks.unassignTasksOf(trx, event.data.organization_id, event.data.user.id);
  const actor = actorOfEnvelope(event);
  await outbox.add(
    trx,
    unassigned.map((task) => taskUpdated(task, { assigned_to: [event.data.user.id, null] }, actor)),
  );
}

/** The organization is gone: so are its tasks and projects, each deletion an event of its own. */
export async function deleteOrganizationWork(outbox: Outbox, trx: Knex.Transaction, event: EventEnvelope<'tenancy.organization.deleted'>): Promise<void> {
  const organization = event.data.organization.id;
  const actor = actorOfEnvelope(event);
  // First: creates already writing commit before the deletes below (which then see their rows), later ones are refused.
  await closeOrganization(trx, organization);
  const deletedTasks = await tasks.deleteTasksWhere(trx, { organization_id: organization });
  const deletedProjects = await projects.deleteProjectsOfOrganization(trx, organization);
  await outbox.add(trx, deletedTasks.map((t) => taskDeleted(t, actor)), deletedProjects.map((p) => projectDeleted(p, actor)));
}
