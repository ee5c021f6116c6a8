// Request and response schemas of the webhooks API: they validate input and are the OpenAPI document.
import { cursor, encodeCursor, idFilter, isoDateTime, multiLineText, pageQuery, pageSchema } from '@taskflow/shared';
import { z } from 'zod';
import { DELIVERY_STATUSES } from '../domain/model';
import { SUBSCRIBABLE_VERBS } from '../domain/payload';

export const id = z.guid();
export const idParams = z.object({ id });
export const deliveryParams = z.object({ id, delivery_id: id });

const ORG_ID = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
const ENDPOINT_ID = '5d3b1a7e-8f2c-4e6d-9b0a-1c2d3e4f5a6b';
const DELIVERY_ID = '0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b';
const EVENT_ID = '2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f7a';

const endpointExample = {
  id: ENDPOINT_ID,
  organization: ORG_ID,
  url: 'https://hooks.example.com/taskflow',
  events: ['task.created', 'task.updated'],
  description: 'Post task changes to the team chat',
  enabled: true,
  disabled_reason: null,
  created_at: '2026-03-02T09:31:05.267Z',
  updated_at: '2026-03-02T09:31:05.267Z',
};

const url = z.string().trim().min(1).max(2048).meta({ description: 'https:// (http:// only with WEBHOOK_ALLOW_PRIVATE_NETWORKS); never an internal address.' });
const events = z
  .array(z.enum(['*', ...SUBSCRIBABLE_VERBS] as [string, ...string[]]))
  .min(1)
  .max(SUBSCRIBABLE_VERBS.length + 1)
  .refine((list) => !list.includes('*') || list.length === 1, '"*" stands alone: every event, or a list of verbs.')
  .transform((list) => [...new Set(list)])
  .meta({ description: 'Activity verbs to deliver (`task.created`, ...) or `["*"]` for every event.' });
const description = multiLineText().max(1000);

export const endpointSchema = z
  .object({
    id,
    organization: id,
    url: z.string(),
    events: z.array(z.string()),
    description: z.string(),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: 'WebhookEndpoint', examples: [endpointExample] });

const SECRET_EXAMPLE = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3yTy0zZ/PyA=';

export const createdEndpointSchema = endpointSchema
  .extend({ secret: z.string().meta({ description: 'The signing secret, shown only in this answer (not in a replay).' }).optional() })
  .meta({ id: 'CreatedWebhookEndpoint', examples: [{ ...endpointExample, secret: SECRET_EXAMPLE }] });

export const createEndpointBody = z
  .strictObject({ organization: id, url, events, description: description.default('') })
  .meta({ examples: [{ organization: ORG_ID, url: 'https://hooks.example.com/taskflow', events: ['task.created', 'task.updated'], description: 'Post task changes to the team chat' }] });

export const patchEndpointBody = z
  .strictObject({ url, events, description, enabled: z.boolean() })
  .partial()
  .meta({ examples: [{ enabled: true }] });

/** Both lists resume after the last row's `[created_at, id]`. */
const newestFirstCursor = cursor(z.tuple([isoDateTime(), z.guid()]));

export const endpointListQuery = pageQuery(newestFirstCursor).extend({
  organization: idFilter('The organization whose endpoints to list (404 if the caller is not a member, or the id is malformed).'),
});

export const endpointPageSchema = pageSchema(endpointSchema).meta({
  id: 'WebhookEndpointPage',
  examples: [{ results: [endpointExample], next: `/api/v1/webhooks?organization=${ORG_ID}&limit=1&cursor=${encodeCursor([endpointExample.created_at, ENDPOINT_ID])}` }],
});

export const secretSchema = z.object({ secret: z.string() }).meta({ id: 'WebhookSecret', examples: [{ secret: SECRET_EXAMPLE }] });

const deliveryExample = {
  id: DELIVERY_ID,
  event_id: EVENT_ID,
  event_type: 'task.updated',
  status: 'retrying',
  attempts: 1,
  next_attempt_at: '2026-03-02T09:31:10.500Z',
  last_status_code: 503,
  last_error: 'HTTP 503: upstream unavailable',
  created_at: '2026-03-02T09:31:05.300Z',
  delivered_at: null,
  attempt_log: [{ attempted_at: '2026-03-02T09:31:05.420Z', status_code: 503, error: 'HTTP 503: upstream unavailable', duration_ms: 84 }],
};

const attemptSchema = z
  .object({ attempted_at: z.iso.datetime(), status_code: z.number().int().nullable(), error: z.string().nullable(), duration_ms: z.number().int() })
  .meta({ id: 'WebhookDeliveryAttempt' });

export const deliverySchema = z
  .object({
    id,
    event_id: id,
    event_type: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    next_attempt_at: z.iso.datetime().nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.iso.datetime(),
    delivered_at: z.iso.datetime().nullable(),
    attempt_log: z.array(attemptSchema).meta({ description: 'Every attempt, oldest first.' }),
  })
  .meta({ id: 'WebhookDelivery', examples: [deliveryExample] });

export const deliveryListQuery = pageQuery(newestFirstCursor).extend({
  status: z.enum(DELIVERY_STATUSES).optional().meta({ description: 'Only deliveries in this state.' }),
});

export const deliveryPageSchema = pageSchema(deliverySchema).meta({ id: 'WebhookDeliveryPage', examples: [{ results: [deliveryExample], next: null }] });
