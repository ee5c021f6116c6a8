// Domain rows -> API bodies (API.md shapes).
import type { InviteRow } from '../domain/invites';
import type { MemberRow } from '../domain/members';
import type { OrganizationView } from '../domain/organizations';

export const presentOrganization = (org: OrganizationView) => ({
  id: org.id,
  name: org.name,
  created_at: org.created_at.toISOString(),
  role: org.role,
});

export const presentMember = (m: MemberRow) => ({
  user: { id: m.user_id, email: m.email, first_name: m.first_name, last_name: m.last_name },
  role: m.role,
  joined_at: m.joined_at.toISOString(),
});

export const presentInvite = (i: InviteRow) => ({
  id: i.id,
  organization: i.organization_id,
  organization_name: i.organization_name,
  email: i.email,
  role: i.role,
  status: i.effective_status,
  invited_by: i.invited_by,
  created_at: i.created_at.toISOString(),
  expires_at: i.expires_at.toISOString(),
});
