// Members' email addresses (from membership and profile events): whom to mail when an endpoint is disabled.
import { type Knex, MEMBERSHIP_TABLE } from '@taskflow/shared';

export async function storeAddress(trx: Knex.Transaction, userId: string, email: string): Promise<void> {
  await trx('webhooks.member_addresses').insert({ user_id: userId, email }).onConflict('user_id').merge(['email']);
}

/** The addresses of the organization's owners that the replica and the events have told us. */
export async function ownerAddresses(trx: Knex.Transaction, organizationId: string): Promise<string[]> {
  const rows = await trx(`${MEMBERSHIP_TABLE} as m`)
    .join('webhooks.member_addresses as a', 'a.user_id', 'm.user_id')
    .where({ 'm.organization_id': organizationId, 'm.role': 'owner' })
    .select('a.email')
    .orderBy('a.email');
  return rows.map((r: { email: string }) => r.email);
}
