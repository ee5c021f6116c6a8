// What tenancy does with the events it consumes (queue `tenancy`, bound to exactly these types).
import type { QueueHandlers } from '@taskflow/shared';
import { userRegistered, userUpdated } from '../domain/profiles';

export const eventHandlers: QueueHandlers<'tenancy'> = {
  'identity.user.registered': userRegistered,
  'identity.user.updated': userUpdated,
};
