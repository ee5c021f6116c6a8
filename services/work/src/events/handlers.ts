// The events work consumes (queue `work`, bound to exactly these types) and what each does.
import type { Outbox, QueueHandlers } from '@taskflow/shared';
import { deleteOrganizationWork, recordMembership, removeMember } from '../domain/membership-changes';

export function workEventHandlers(outbox: Outbox): QueueHandlers<'work'> {
  return {
    'tenancy.membership.added': recordMembership,
    'tenancy.membership.role_changed': recordMembership,
    'tenancy.membership.removed': (trx, event) => removeMember(outbox, trx, event),
    'tenancy.organization.deleted': (trx, event) => deleteOrganizationWork(outbox, trx, event),
  };
}
