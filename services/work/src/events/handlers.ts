// The events work consumes (queue `work`: tenancy.membership.* and tenancy.organization.*) and what each does.
import type { EventHandlers, Outbox } from '@taskflow/shared';
import { deleteOrganizationWork, recordMembership, removeMember } from '../domain/membership-changes';

export function workEventHandlers(outbox: Outbox): EventHandlers {
  return {
    'tenancy.membership.added': recordMembership,
    'tenancy.membership.role_changed': recordMembership,
    'tenancy.membership.removed': (trx, event) => removeMember(outbox, trx, event),
    'tenancy.organization.deleted': (trx, event) => deleteOrganizationWork(outbox, trx, event),
  };
}
