// What tenancy does with the events it consumes (queue `tenancy`, bound to exactly these types): the
// shared user profile replica (invites go only to verified addresses).
import { applyUserEvent, type QueueHandlers } from '@taskflow/shared';

export const eventHandlers: QueueHandlers<'tenancy'> = {
  'identity.user.registered': applyUserEvent,
  'identity.user.updated': applyUserEvent,
};
