// What tenancy does with the events it consumes (queue `tenancy`: identity.user.*).
import type { EventHandlers } from '@taskflow/shared';
import { userRegistered, userUpdated } from '../domain/profiles';

export const eventHandlers: EventHandlers = {
  'identity.user.registered': userRegistered,
  'identity.user.updated': userUpdated,
};
