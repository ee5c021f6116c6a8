// An activity entry is one recorded event of an organization; who sees which sentence is decided here.
import type { Changes, Role } from '@taskflow/shared';
import { type AnyEvent, describeEvent } from './describe';

/** One stored entry (the `activity` table's row). */
export interface ActivityRecord {
  /** The id of the event it records, so an event is recorded at most once. */
  id: string;
  organization_id: string;
  actor_id: string | null;
  actor_email: string | null;
  verb: string;
  action: string;
  member_action: string;
  target_type: string;
  target_id: string;
  changes: Changes;
  /** When the change happened (the event's `occurred_at`), not when audit heard of it. */
  created_at: Date;
  request_id: string | null;
}

/** The entry an event becomes, or null for events outside any organization (nobody could read them). */
export function activityOf(event: AnyEvent): ActivityRecord | null {
  if (!event.organization_id) return null;
  const description = describeEvent(event);
  return {
    id: event.id,
    organization_id: event.organization_id,
    actor_id: event.actor_id,
    actor_email: event.actor_email,
    verb: description.verb,
    action: description.action,
    member_action: description.memberAction,
    target_type: description.target.type,
    target_id: description.target.id,
    changes: description.changes,
    created_at: new Date(event.occurred_at),
    request_id: event.request_id,
  };
}

/** Invitee email addresses are shown to owners and admins only (API.md, Activity). */
export const seesInviteeEmails = (role: Role): boolean => role === 'owner' || role === 'admin';

/** The sentence and changes a caller with `role` in the entry's organization may see. */
export function visibleTo(record: ActivityRecord, role: Role): { action: string; changes: Changes } {
  if (seesInviteeEmails(role)) return { action: record.action, changes: record.changes };
  const changes = record.verb.startsWith('invite.') ? withoutKey(record.changes, 'email') : record.changes;
  return { action: record.member_action, changes };
}

function withoutKey(changes: Changes, key: string): Changes {
  if (!(key in changes)) return changes;
  const { [key]: _removed, ...rest } = changes;
  return rest;
}
