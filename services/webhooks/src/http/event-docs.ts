// The OpenAPI `webhooks` section: one entry per deliverable type (every subscribable verb and the ping),
// its body built from the same object schemas the payload builders satisfy.
import type { WebhookSpec } from '@taskflow/shared';
import { z } from 'zod';
import { PING_TYPE } from '../domain/model';
import { OBJECT_SCHEMAS, SUBSCRIBABLE_VERBS, type TargetType } from '../domain/payload';

const TARGET_BY_NOUN: Record<string, TargetType> = { organization: 'organization', membership: 'member', invite: 'invite', project: 'project', task: 'task', endpoint: 'webhook' };

const changes = z.record(z.string(), z.tuple([z.unknown(), z.unknown()])).meta({ id: 'WebhookChanges', description: 'Changed fields as [old, new].' });

function bodySchema(verb: string): z.ZodType {
  const noun = verb.split('.')[0]!;
  const target: TargetType = verb === PING_TYPE ? 'webhook' : TARGET_BY_NOUN[noun]!;
  // Deletions and removals carry no object (the resource is gone); a ping carries none either.
  const withObject = verb !== PING_TYPE && !verb.endsWith('.deleted') && verb !== 'membership.removed';
  return z.object({
    id: z.guid().meta({ description: 'The event id: the same as `webhook-id`, on every retry.' }),
    type: z.literal(verb),
    timestamp: z.iso.datetime(),
    organization: z.guid(),
    data: z.object({
      actor: z.guid().nullable(),
      actor_email: z.string().nullable(),
      target: z.object({ type: z.literal(target), id: z.guid() }),
      changes,
      ...(withObject ? { object: OBJECT_SCHEMAS[target] } : {}),
    }),
  });
}

const HEADERS = {
  'webhook-id': 'The event id (the same on every retry).',
  'webhook-timestamp': 'Unix seconds of this attempt.',
  'webhook-signature': '`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`; two, space-separated, while a rotated secret overlaps.',
};

export function webhookDocs(): Record<string, WebhookSpec> {
  return Object.fromEntries(
    [...SUBSCRIBABLE_VERBS, PING_TYPE].map((verb) => [
      verb,
      {
        summary: verb === PING_TYPE ? 'A ping, queued by POST /api/v1/webhooks/{id}/ping/' : `Delivered to endpoints subscribed to \`${verb}\` or \`*\``,
        tags: ['webhooks'],
        headers: HEADERS,
        body: bodySchema(verb),
        responses: { '2XX': { description: 'Delivered. Anything else (or no answer within 10 s) is retried; 410 disables the endpoint.' } },
      },
    ]),
  );
}
