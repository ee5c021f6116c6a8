// The user profile replica, fed by identity's events; the highest version wins (verification never goes back).
import type { EventEnvelope, Knex } from '@taskflow/shared';
import { storeProfile } from '../db/memberships';

/** A registration is older than any update (updates carry versions from 1 up). */
const REGISTERED_VERSION = 0;

export async function userRegistered(trx: Knex.Transaction, event: EventEnvelope<'identity.user.registered'>): Promise<void> {
  await storeProfile(trx, event.data.user, REGISTERED_VERSION, event.data.email_verified === true);
}

export async function userUpdated(trx: Knex.Transaction, event: EventEnvelope<'identity.user.updated'>): Promise<void> {
  await storeProfile(trx, event.data.user, event.data.version, event.data.email_verified === true);
}
