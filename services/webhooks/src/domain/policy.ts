// Who may do what in the webhooks service: API.md's rule (owners and admins manage an organization's webhooks) as one pure function.
import { forbidden, type Role } from '@taskflow/shared';

export type WebhookAction =
  | 'webhook.list'
  | 'webhook.create'
  | 'webhook.view'
  | 'webhook.update'
  | 'webhook.delete'
  | 'webhook.rotate_secret'
  | 'webhook.ping'
  | 'webhook.list_deliveries'
  | 'webhook.retry_delivery';

/** Scoping has already answered 404 to non-members, so a decision here is allow or 403. */
export type Decision = 'allow' | 'forbidden';

/** May a member whose role is `actor` do `action`? Webhooks carry the organization's data to third parties and hold signing secrets: owners and admins only. */
export function can(actor: Role, action: WebhookAction): Decision {
  switch (action) {
    case 'webhook.list':
    case 'webhook.create':
    case 'webhook.view':
    case 'webhook.update':
    case 'webhook.delete':
    case 'webhook.rotate_secret':
    case 'webhook.ping':
    case 'webhook.list_deliveries':
    case 'webhook.retry_delivery':
      return actor === 'owner' || actor === 'admin' ? 'allow' : 'forbidden';
  }
}

/** Throws 403 unless `can` allows (the caller is already known to be a member). */
export function authorize(actor: Role, action: WebhookAction): void {
  if (can(actor, action) !== 'allow') throw forbidden();
}
