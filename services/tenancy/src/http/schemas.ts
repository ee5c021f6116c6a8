// Request and response schemas of the tenancy API (they validate input and produce the OpenAPI document).
import { AppError, type CursorValue, decodeCursor, idFilter, pageQuerySchema, pageSchema } from '@taskflow/shared';
import { z } from 'zod';

export const roleSchema = z.enum(['owner', 'admin', 'member']);
export const inviteStatusSchema = z.enum(['pending', 'accepted', 'revoked', 'expired']);

export const organizationParams = z.object({ id: z.uuid() });
export const memberParams = z.object({ id: z.uuid(), user_id: z.uuid() });
export const inviteParams = z.object({ id: z.uuid() });
export const tokenParams = z.object({ token: z.string().min(1).max(512) });
export const internalMembershipParams = z.object({ organization_id: z.uuid(), user_id: z.uuid() });

export const organizationBody = z.strictObject({ name: z.string().trim().min(1).max(255) });
export const memberRoleBody = z.strictObject({ role: roleSchema });
export const inviteBody = z.strictObject({
  organization: z.uuid(),
  email: z.string().trim().max(254).pipe(z.email()),
  role: roleSchema.default('member'),
});

export const invitesQuery = pageQuerySchema.extend({
  organization: idFilter('The organization whose invites to list (404 if the caller is not a member, or the id is malformed).'),
  status: inviteStatusSchema.optional(),
});

export const organizationSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  created_at: z.iso.datetime(),
  role: roleSchema.meta({ description: "The caller's role in the organization." }),
});
export const memberSchema = z.object({
  user: z.object({ id: z.uuid(), email: z.string(), first_name: z.string(), last_name: z.string() }),
  role: roleSchema,
  joined_at: z.iso.datetime(),
});
export const inviteSchema = z.object({
  id: z.uuid(),
  organization: z.uuid(),
  email: z.string(),
  role: roleSchema,
  status: inviteStatusSchema,
  invited_by: z.uuid(),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
});
export const createdInviteSchema = inviteSchema.extend({
  token: z
    .string()
    .optional()
    .meta({ description: 'The accept token, shown only in this response (absent when an Idempotency-Key replays it; the email carries it).' }),
});
export const acceptedInviteSchema = z.object({ detail: z.literal('Invite accepted'), organization: organizationSchema, role: roleSchema });
export const membershipFactSchema = z.object({ organization_id: z.uuid(), user_id: z.uuid(), role: roleSchema, version: z.number().int() });

export const organizationPage = pageSchema(organizationSchema);
export const memberPage = pageSchema(memberSchema);
export const invitePage = pageSchema(inviteSchema);

const keysetCursor = z.tuple([z.iso.datetime(), z.uuid()]);

/** Decodes a `[timestamp, id]` cursor; anything else is a 400, never a database error. */
export function decodeKeyset(cursor: string | undefined): CursorValue[] | undefined {
  if (cursor === undefined) return undefined;
  const values = decodeCursor(cursor, 2);
  if (!keysetCursor.safeParse(values).success) throw new AppError(400, 'invalid_cursor', 'The cursor is invalid.', { cursor: ['Invalid cursor.'] });
  return values;
}
