// What an attempt's answer means: succeeded, retried later (API.md's schedule), failed for good; a 410
// disables the endpoint at once, and an endpoint failing for days is disabled and its owners mailed.
import { randomUUID } from 'node:crypto';
import { inTransaction, type Knex, type Outbox, queueMail } from '@taskflow/shared';
import { ownerAddresses } from '../db/addresses';
import { type AttemptOutcome, recordAttempt } from '../db/deliveries';
import { disableEndpoint, noteFailure, noteSuccess } from '../db/endpoints';
import { endpointDisabled } from './events';

export interface AttemptRules {
  /** Seconds before each retry, in order. */
  retrySchedule: readonly number[];
  /** An endpoint failing this long (seconds) without one success is disabled. */
  disableAfterSeconds: number;
}

/** The outcome of attempt number `attemptsBefore + 1` that answered `statusCode` (null: no answer). */
export function outcomeOf(rules: AttemptRules, attemptsBefore: number, result: { statusCode: number | null; error: string | null; durationMs: number }): AttemptOutcome {
  const succeeded = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const retry = rules.retrySchedule[attemptsBefore];
  return {
    statusCode: result.statusCode,
    error: succeeded ? null : result.error,
    durationMs: result.durationMs,
    succeeded,
    retryInSeconds: succeeded || result.statusCode === 410 || retry === undefined ? null : retry,
  };
}

export interface AttemptDeps {
  db: Knex;
  outbox: Outbox;
  rules: AttemptRules;
}

/** Records the attempt and its consequences for the endpoint in one transaction. */
export async function concludeAttempt(
  deps: AttemptDeps,
  delivery: { id: string; endpoint_id: string; attempts: number; url: string },
  result: { statusCode: number | null; error: string | null; durationMs: number },
): Promise<AttemptOutcome> {
  const outcome = outcomeOf(deps.rules, delivery.attempts, result);
  await inTransaction(deps.db, async (trx) => {
    await recordAttempt(trx, delivery.id, outcome);
    if (outcome.succeeded) {
      await noteSuccess(trx, delivery.endpoint_id);
      return;
    }
    if (result.statusCode === 410) {
      const disabled = await disableEndpoint(trx, delivery.endpoint_id, 'The receiver answered 410 Gone.');
      if (disabled) await deps.outbox.add(trx, endpointDisabled(disabled, 'gone'));
      return;
    }
    const failing = await noteFailure(trx, delivery.endpoint_id);
    if (!failing?.enabled || Date.now() - failing.failing_since.getTime() < deps.rules.disableAfterSeconds * 1000) return;
    const disabled = await disableEndpoint(trx, delivery.endpoint_id, 'Every delivery failed for 5 days.');
    if (!disabled) return;
    await deps.outbox.add(trx, endpointDisabled(disabled, 'failing'));
    for (const to of await ownerAddresses(trx, disabled.organization)) {
      await queueMail(trx, {
        id: randomUUID(),
        to,
        subject: 'A TaskFlow webhook was disabled',
        text: [
          `Deliveries to your organization's webhook ${disabled.url.split('?')[0]} have all failed since ${failing.failing_since.toISOString()}, so it was disabled.`,
          '',
          `Its deliveries are kept: see them at /api/v1/webhooks/${disabled.id}/deliveries/ and enable it again with PATCH /api/v1/webhooks/${disabled.id}/ {"enabled": true} once the receiver works.`,
        ].join('\n'),
      });
    }
  });
  return outcome;
}
