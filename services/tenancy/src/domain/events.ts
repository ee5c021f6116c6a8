// The events tenancy records, built from plain rows (payloads exactly as declared in shared/src/events.ts).
import type { NewEvent, Role, UserSummary } from '@taskflow/shared';
import type { InviteRow } from '../db/invites';
import type { Actor } from './context';

interface OrgRef {
  id: string;
  name: string;
}

const summary = (org: OrgRef) => ({ id: org.id, name: org.name });

export const organizationCreated = (org: OrgRef, actor: Actor): NewEvent<'tenancy.organization.created'> => ({
  type: 'tenancy.organization.created',
  organization_id: org.id,
  actor,
  data: { organization: summary(org) },
});

export const organizationRenamed = (org: OrgRef, previousName: string, actor: Actor): NewEvent<'tenancy.organization.renamed'> => ({
  type: 'tenancy.organization.renamed',
  organization_id: org.id,
  actor,
  data: { organization: summary(org), changes: { name: [previousName, org.name] } },
});

export const organizationDeleted = (org: OrgRef, actor: Actor): NewEvent<'tenancy.organization.deleted'> => ({
  type: 'tenancy.organization.deleted',
  organization_id: org.id,
  actor,
  data: { organization: summary(org) },
});

interface MembershipChange {
  organizationId: string;
  user: UserSummary;
  role: Role;
  version: number;
}

const membershipData = (m: MembershipChange) => ({ organization_id: m.organizationId, user: m.user, role: m.role, version: m.version });

export const membershipAdded = (m: MembershipChange, actor: Actor): NewEvent<'tenancy.membership.added'> => ({
  type: 'tenancy.membership.added',
  organization_id: m.organizationId,
  actor,
  data: membershipData(m),
});

export const membershipRoleChanged = (m: MembershipChange, previousRole: Role, actor: Actor): NewEvent<'tenancy.membership.role_changed'> => ({
  type: 'tenancy.membership.role_changed',
  organization_id: m.organizationId,
  actor,
  data: { ...membershipData(m), changes: { role: [previousRole, m.role] } },
});

export const membershipRemoved = (
  m: MembershipChange,
  reason: 'removed' | 'left' | 'organization_deleted',
  actor: Actor,
): NewEvent<'tenancy.membership.removed'> => ({
  type: 'tenancy.membership.removed',
  organization_id: m.organizationId,
  actor,
  data: { ...membershipData(m), reason },
});

type InviteEventType = 'tenancy.invite.sent' | 'tenancy.invite.revoked' | 'tenancy.invite.accepted';

export const inviteEvent = <T extends InviteEventType>(type: T, invite: InviteRow, org: OrgRef, actor: Actor): NewEvent<T> =>
  ({
    type,
    organization_id: org.id,
    actor,
    data: {
      invite: { id: invite.id, email: invite.email, role: invite.role, expires_at: invite.expires_at.toISOString() },
      organization: summary(org),
    },
  }) as NewEvent<T>;
