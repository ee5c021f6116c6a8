// Who may do what in the webhooks service: API.md's rule (owners and admins manage webhooks) as one pure function.
import { forbidden, type Role } from '@taskflow/shared';

export type WebhookAction = 'webhook.list' | 'webhook.create' | 'webhook.read' | 'webhook.update' | 'webhook.delete' | 'webhook.rotate' | 'webhook.ping' | 'webhook.deliveries' | 'webhook.retry';

/** The caller as policy sees them: their role in the resource's organization (membership is already established). */
export interface RoleInOrganization {
  role: Role;
}

/** Webhooks carry the organization's data to third parties and hold signing secrets: managed by owners and admins only. */
export function can(actor: RoleInOrganization, _action: WebhookAction, _resource: { organization: string }): boolean {
  return actor.role === 'owner' || actor.role === 'admin';
}

/** Throws 403 unless `can`. */
export function authorize(actor: RoleInOrganization, action: WebhookAction, resource: { organization: string }): void {
  if (!can(actor, action, resource)) throw forbidden();
}
