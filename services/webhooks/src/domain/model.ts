// The webhooks service's resources exactly as the API presents them, and what its use cases depend on.
import type { AuthUser, Knex, MembershipReplica, Outbox } from '@taskflow/shared';
import type { SecretBox } from './secrets';
import type { UrlGuard } from './url-safety';

export interface Endpoint {
  id: string;
  organization: string;
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
  /** Not part of the body: served as the ETag. */
  version: number;
}

export const DELIVERY_STATUSES = ['pending', 'retrying', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryAttempt {
  attempted_at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  /** Every attempt, oldest first (API.md is silent on where attempts are shown: here, beside the count). */
  attempt_log: DeliveryAttempt[];
}

/** The delivery type of a ping (not an event of the broker: it exists only as a delivery). */
export const PING_TYPE = 'webhook.ping';

/** What a use case needs. */
export interface WebhooksDeps {
  db: Knex;
  replica: MembershipReplica;
  outbox: Outbox;
  secrets: SecretBox;
  urls: UrlGuard;
  /** How long a rotated-out secret keeps signing (seconds). */
  rotationOverlapSeconds: number;
  /** Tells the delivery workers that something is due now. */
  wakeDeliveries: () => void;
}

export type Actor = AuthUser;
