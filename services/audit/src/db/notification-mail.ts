// All SQL of notification mail's rate rule: at most one mail per person, kind and target in a window.
import type { Knex } from '@taskflow/shared';
import { MAIL_THROTTLE_TABLE } from './migrations';

/**
 * Takes the right to mail `recipient` of `kind` about `target` now, unless the last such mail is less than
 * `windowSeconds` old. One statement: two replicas consuming two events at once serialize on the row, so
 * exactly one of them wins.
 */
export async function claimMailSlot(trx: Knex.Transaction, key: { recipient_id: string; kind: string; target_id: string }, windowSeconds: number): Promise<boolean> {
  const result = await trx.raw(
    `insert into ${MAIL_THROTTLE_TABLE} as t (recipient_id, kind, target_id, last_mailed_at) values (?, ?, ?, clock_timestamp())
     on conflict (recipient_id, kind, target_id) do update set last_mailed_at = excluded.last_mailed_at
       where t.last_mailed_at <= excluded.last_mailed_at - make_interval(secs => ?)`,
    [key.recipient_id, key.kind, key.target_id, windowSeconds],
  );
  return (result.rowCount ?? 0) === 1;
}
