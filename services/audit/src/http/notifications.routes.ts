// /api/v1/notifications/: the caller's own notifications (list, unread count, mark read) and email preferences.
import {
  type AccessTokenVerifier,
  ApiRoutes,
  authenticate,
  currentUser,
  cursor,
  encodeCursor,
  isoDateTime,
  pageQuery,
  pageSchema,
  toPage,
} from '@taskflow/shared';
import { z } from 'zod';
import {
  emailPreferencesOf,
  listNotificationsForUser,
  markNotificationsRead,
  type NotificationDeps,
  unreadCountOf,
  updateEmailPreferences,
} from '../domain/notification-inbox';
import { notificationKinds, type NotificationRecord } from '../domain/notifications';

const tags = ['notifications'];

export const notificationsQuery = pageQuery(cursor(z.tuple([isoDateTime(), z.uuid()]))).extend({
  unread: z
    .enum(['true', 'false'], { error: 'Enter true or false.' })
    .optional()
    .transform((value) => value === 'true')
    .meta({ description: 'With `true`, only notifications not yet marked read.' }),
});

export const notificationSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(notificationKinds).meta({ description: 'What happened to the caller, e.g. `task.assigned`.' }),
    organization: z.uuid(),
    actor: z.uuid().nullable().meta({ description: 'Who did it; null for changes made by the system.' }),
    actor_email: z.string().nullable(),
    target: z.object({ type: z.string(), id: z.uuid() }),
    message: z.string().meta({ description: "Human sentence, e.g. `Assigned you task 'Write spec'`." }),
    created_at: z.iso.datetime().meta({ description: 'When it happened (RFC 3339 UTC with Z).' }),
    read_at: z.iso.datetime().nullable().meta({ description: 'When the caller marked it read; null while unread.' }),
  })
  .meta({ id: 'Notification' });

export type NotificationBody = z.output<typeof notificationSchema>;

const notificationExample = {
  id: '5d9f3a1e-2b4c-4e8a-9f1d-7c6b5a4e3d2c',
  kind: 'task.assigned',
  organization: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
  actor: '3f2b8c1e-6d4a-4b7e-9a1c-2e5f7d8b9c0a',
  actor_email: 'ada@example.com',
  target: { type: 'task', id: 'c56a4180-65aa-42ec-a945-5fd21dec0538' },
  message: "Assigned you task 'Write the API spec'",
  created_at: '2026-03-05T08:27:33.415Z',
  read_at: null,
} satisfies NotificationBody;

export const notificationPageSchema = pageSchema(notificationSchema).meta({
  id: 'NotificationPage',
  examples: [{ results: [notificationExample], next: `/api/v1/notifications?limit=1&cursor=${encodeCursor([notificationExample.created_at, notificationExample.id])}` }],
});

export const unreadCountSchema = z.object({ count: z.number().int().min(0) }).meta({ id: 'UnreadCount', examples: [{ count: 3 }] });

export const markReadSchema = z
  .union([
    z.strictObject({ ids: z.array(z.uuid({ error: 'Enter notification ids (UUIDs).' })).min(1).max(500) }),
    z.strictObject({ all: z.literal(true, { error: 'Send `true` to mark every notification read.' }) }),
  ], { error: 'Send either {"ids": [...]} or {"all": true}.' })
  .meta({ id: 'MarkNotificationsRead' });

const emailChoices = z.strictObject({
  'task.assigned': z.boolean().meta({ description: 'Mail when a task is assigned to you.' }),
  'invite.received': z.boolean().meta({ description: 'Mail when you are invited to an organization.' }),
});

export const notificationPreferencesSchema = z.object({ email: emailChoices }).meta({
  id: 'NotificationPreferences',
  examples: [{ email: { 'task.assigned': true, 'invite.received': false } }],
});

export const notificationPreferencesPatchSchema = z.strictObject({ email: emailChoices.partial() }).meta({ id: 'NotificationPreferencesPatch' });

export function presentNotification(row: NotificationRecord): NotificationBody {
  return {
    id: row.id,
    kind: row.kind,
    organization: row.organization_id,
    actor: row.actor_id,
    actor_email: row.actor_email,
    target: { type: row.target_type, id: row.target_id },
    message: row.message,
    created_at: row.created_at.toISOString(),
    read_at: row.read_at ? row.read_at.toISOString() : null,
  };
}

export function notificationRoutes(deps: NotificationDeps, verifier: Pick<AccessTokenVerifier, 'verify'>): ApiRoutes {
  const routes = new ApiRoutes({ authenticate: authenticate(verifier) });

  routes.add(
    {
      method: 'get',
      path: '/api/v1/notifications',
      summary: "The caller's notifications, newest first",
      tags,
      query: notificationsQuery,
      responses: { 200: { description: 'A page of notifications, newest first (ties broken by id)', schema: notificationPageSchema } },
    },
    async (ctx, { query }) => {
      const { limit, cursor, unread } = query;
      const rows = await listNotificationsForUser(deps, currentUser(ctx).id, { unread }, cursor, limit + 1);
      ctx.body = toPage(ctx, rows, limit, (row) => [row.created_at.toISOString(), row.id], presentNotification);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/v1/notifications/unread-count',
      summary: "How many of the caller's notifications are unread",
      tags,
      responses: { 200: { description: 'The unread count', schema: unreadCountSchema } },
    },
    async (ctx) => {
      ctx.body = { count: await unreadCountOf(deps, currentUser(ctx).id) };
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/notifications/read',
      summary: "Marks the caller's notifications read: those listed, or all",
      tags,
      body: markReadSchema,
      responses: { 204: { description: "Marked (ids of notifications that are not the caller's change nothing)" } },
    },
    async (ctx, { body }) => {
      await markNotificationsRead(deps, currentUser(ctx).id, 'ids' in body ? { ids: body.ids } : 'all');
      ctx.status = 204;
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/v1/notifications/preferences',
      summary: "The caller's email preferences (every kind on unless turned off)",
      tags,
      responses: { 200: { description: 'The preferences', schema: notificationPreferencesSchema } },
    },
    async (ctx) => {
      ctx.body = { email: await emailPreferencesOf(deps, currentUser(ctx).id) };
    },
  );

  routes.add(
    {
      method: 'patch',
      path: '/api/v1/notifications/preferences',
      summary: "Changes some of the caller's email preferences",
      tags,
      body: notificationPreferencesPatchSchema,
      responses: { 200: { description: 'The preferences after the change', schema: notificationPreferencesSchema } },
    },
    async (ctx, { body }) => {
      ctx.body = { email: await updateEmailPreferences(deps, currentUser(ctx).id, body.email) };
    },
  );

  return routes;
}
