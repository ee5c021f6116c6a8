// /api/v1/invites (and the original's /api/v1/organizations/invite aliases): send, list, revoke, accept.
import { ApiRoutes, bearerToken, currentUser, idempotent, type RouteHandler, sendJsonPage } from '@taskflow/shared';
import type { z } from 'zod';
import type { TenancyDeps } from '../domain/context';
import { acceptInvite, createInvite, listInvites, listMyInvites, revokeInvite } from '../domain/invites';
import { presentInvite, presentOrganization } from './presenters';
import {
  acceptedInviteSchema,
  createdInviteSchema,
  inviteBody,
  invitePage,
  inviteParams,
  invitesQuery,
  listQuery,
  tokenParams,
} from './schemas';

const tags = ['invites'];
const inviteErrors = 'Invalid input, or `detail` "User already in organization"';
const acceptErrors =
  '`detail`, checked in this order: "Invalid invite" (unknown, used or revoked), "Invite expired", "Invite email mismatch", "Email not verified" (the caller has not verified the address yet); then "User already in organization"';

export function inviteRoutes(routes: ApiRoutes, deps: TenancyDeps): ApiRoutes {
  const send: RouteHandler<typeof inviteBody, undefined, undefined> = async (ctx, { body }) => {
    const caller = currentUser(ctx);
    // The stored (replayable) response never holds the token: it exists in clear only in this response and the mail.
    let token: string | undefined;
    const response = await idempotent(ctx, deps.db, caller.id, body, async () => {
      const created = await createInvite(deps, caller, body);
      token = created.token;
      return { status: 201, body: presentInvite(created.invite) };
    });
    ctx.status = response.status;
    ctx.body = token === undefined ? response.body : { ...(response.body as object), token };
  };

  const accept: RouteHandler<undefined, undefined, typeof tokenParams> = async (ctx, { params }) => {
    const caller = { ...currentUser(ctx), accessToken: bearerToken(ctx) };
    const response = await idempotent(ctx, deps.db, caller.id, null, async () => {
      const { organization, role } = await acceptInvite(deps, caller, { token: params.token });
      return { status: 200, body: { detail: 'Invite accepted', organization: presentOrganization(organization), role } };
    });
    ctx.status = response.status;
    ctx.body = response.body;
  };

  const sendSpec = (path: string, summary: string) => ({
    method: 'post' as const,
    path,
    summary,
    tags,
    body: inviteBody,
    responses: { 201: { description: 'Sent; the accept link is mailed', schema: createdInviteSchema }, 400: { description: inviteErrors }, 403: { description: 'Members may not invite; admins may not invite owners, nor replace a pending owner-role invite' } },
  });
  const acceptSpec = (path: string, summary: string) => ({
    method: 'post' as const,
    path,
    summary,
    tags,
    params: tokenParams,
    responses: {
      200: { description: 'Accepted; the caller is now a member', schema: acceptedInviteSchema },
      400: { description: acceptErrors, problem: { code: 'invalid_invite', detail: 'Invalid invite' } },
    },
  });

  return routes
    .add(sendSpec('/api/v1/invites', 'Invite an address to an organization (owner, admin)'), send)
    .add(sendSpec('/api/v1/organizations/invite', 'Alias of POST /api/v1/invites/'), send)
    .add(acceptSpec('/api/v1/invites/accept/:token', 'Accept an invite addressed to the caller'), accept)
    .add(acceptSpec('/api/v1/organizations/invite/accept/:token', 'Alias of POST /api/v1/invites/accept/{token}/'), accept)
    .add(
      {
        method: 'get',
        path: '/api/v1/invites',
        summary: "An organization's invites, newest first (owner, admin)",
        tags,
        query: invitesQuery,
        responses: { 200: { description: 'A page of invites', schema: invitePage }, 403: { description: 'Members may not list invites' }, 404: { description: 'Not a member of that organization' } },
      },
      async (ctx, { query }: { query: z.output<typeof invitesQuery> }) => {
        sendJsonPage(ctx, await listInvites(deps, currentUser(ctx), query.organization, query.status, query.limit, query.cursor), query.limit);
      },
    )
    .add(
      { method: 'get', path: '/api/v1/invites/mine', summary: "Pending invites addressed to the caller's email, newest first (none until the email is verified)", tags, query: listQuery, responses: { 200: { description: 'A page of invites', schema: invitePage } } },
      async (ctx, { query }) => {
        sendJsonPage(ctx, await listMyInvites(deps, { ...currentUser(ctx), accessToken: bearerToken(ctx) }, query.limit, query.cursor), query.limit);
      },
    )
    .add(
      {
        method: 'delete',
        path: '/api/v1/invites/:id',
        summary: 'Revoke an invite (owner; admin for member and admin invites)',
        tags,
        params: inviteParams,
        responses: {
          204: { description: 'Revoked (also when it already was)' },
          403: { description: 'The caller may not revoke it' },
          409: { description: 'Already accepted', problem: { code: 'invite_not_pending', detail: 'Only a pending invite can be revoked.' } },
        },
      },
      async (ctx, { params }) => {
        await revokeInvite(deps, currentUser(ctx), { id: params.id });
        ctx.status = 204;
      },
    );
}
