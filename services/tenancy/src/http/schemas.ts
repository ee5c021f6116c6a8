// Request and response schemas of the tenancy API (they validate input and produce the OpenAPI document).
import { cursor, encodeCursor, idFilter, isoDateTime, pageQuery, pageSchema, singleLineText } from '@taskflow/shared';
import { z } from 'zod';

// Examples for the OpenAPI document: Ada owns Analytical Engines Ltd and invites Grace.
const ADA_ID = '3f2b8c1e-6d4a-4b7e-9a1c-2e5f7d8b9c0a';
const ORG_ID = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
const INVITE_ID = '6fa459ea-ee8a-4ca4-894e-db77e160355e';
const organizationExample = { id: ORG_ID, name: 'Analytical Engines Ltd', created_at: '2026-03-02T09:18:40.112Z', role: 'owner' };
const memberExample = {
  user: { id: '7c9e6679-7425-40de-944b-e07fc1f90ae7', email: 'grace@example.com', first_name: 'Grace', last_name: 'Hopper' },
  role: 'admin',
  joined_at: '2026-03-03T14:02:09.530Z',
};
const inviteExample = {
  id: INVITE_ID,
  organization: ORG_ID,
  organization_name: 'Analytical Engines Ltd',
  email: 'grace@example.com',
  role: 'member',
  status: 'pending',
  invited_by: ADA_ID,
  created_at: '2026-03-03T13:47:21.004Z',
  expires_at: '2026-03-10T13:47:21.004Z',
};
/** `next` of a page whose last item was created at `createdAt` with id `id` (the cursor as the API encodes it). */
const nextLink = (path: string, createdAt: string, id: string) => `${path}?limit=1&cursor=${encodeCursor([createdAt, id])}`;

export const roleSchema = z.enum(['owner', 'admin', 'member']);
export const inviteStatusSchema = z.enum(['pending', 'accepted', 'revoked', 'expired']);

export const organizationParams = z.object({ id: z.uuid() });
export const memberParams = z.object({ id: z.uuid(), user_id: z.uuid() });
export const inviteParams = z.object({ id: z.uuid() });
export const tokenParams = z.object({ token: z.string().min(1).max(512) });
export const internalMembershipParams = z.object({ organization_id: z.uuid(), user_id: z.uuid() });

export const organizationBody = z.strictObject({ name: singleLineText().min(1).max(255) }).meta({ examples: [{ name: 'Analytical Engines Ltd' }] });
export const memberRoleBody = z.strictObject({ role: roleSchema }).meta({ examples: [{ role: 'admin' }] });
export const inviteBody = z.strictObject({
  organization: z.uuid(),
  email: z.string().trim().max(254).pipe(z.email()),
  role: roleSchema.default('member'),
}).meta({ examples: [{ organization: ORG_ID, email: 'grace@example.com', role: 'member' }] });

/** Every tenancy list resumes after a `[timestamp, id]` cursor. */
export const listQuery = pageQuery(cursor(z.tuple([isoDateTime(), z.uuid()])));

export const invitesQuery = listQuery.extend({
  organization: idFilter('The organization whose invites to list (404 if the caller is not a member, or the id is malformed).'),
  status: inviteStatusSchema.optional(),
});

export const organizationSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  created_at: z.iso.datetime(),
  role: roleSchema.meta({ description: "The caller's role in the organization." }),
}).meta({ id: 'Organization', examples: [organizationExample] });
export const memberSchema = z.object({
  user: z.object({ id: z.uuid(), email: z.string(), first_name: z.string(), last_name: z.string() }),
  role: roleSchema,
  joined_at: z.iso.datetime(),
}).meta({ id: 'Member', examples: [memberExample] });
export const inviteSchema = z.object({
  id: z.uuid(),
  organization: z.uuid(),
  organization_name: z.string(),
  email: z.string(),
  role: roleSchema,
  status: inviteStatusSchema,
  invited_by: z.uuid(),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
}).meta({ id: 'Invite', examples: [inviteExample] });
export const createdInviteSchema = inviteSchema.extend({
  token: z
    .string()
    .optional()
    .meta({ description: 'The accept token, shown only in this response (absent when an Idempotency-Key replays it; the email carries it).' }),
}).meta({ id: 'CreatedInvite', examples: [{ ...inviteExample, token: 'xhfsfbVsKovcFnwazv165VZ63Zmcthzrhw7jZNBvXU8' }] });
export const acceptedInviteSchema = z
  .object({ detail: z.literal('Invite accepted'), organization: organizationSchema, role: roleSchema })
  .meta({ id: 'AcceptedInvite', examples: [{ detail: 'Invite accepted', organization: { ...organizationExample, role: 'member' }, role: 'member' }] });
export const membershipFactSchema = z.object({ organization_id: z.uuid(), user_id: z.uuid(), role: roleSchema, version: z.number().int() });

export const organizationPage = pageSchema(organizationSchema).meta({
  id: 'OrganizationPage',
  examples: [{ results: [organizationExample], next: nextLink('/api/v1/organizations', organizationExample.created_at, ORG_ID) }],
});
export const memberPage = pageSchema(memberSchema).meta({
  id: 'MemberPage',
  examples: [{ results: [memberExample], next: nextLink(`/api/v1/organizations/${ORG_ID}/members`, memberExample.joined_at, memberExample.user.id) }],
});
export const invitePage = pageSchema(inviteSchema).meta({ id: 'InvitePage', examples: [{ results: [inviteExample], next: null }] });

