// One transaction per write: `inTransaction` joins the transaction already open in this async context
// (carried in the request context that logging uses) or opens one, so a use case and whatever wraps it
// (idempotency, a consumed event) commit or roll back together.
import type { Knex } from 'knex';
import { requestContext } from '../logging';

function openTransactionOf(db: Knex): Knex.Transaction | undefined {
  const open = requestContext.getStore()?.transaction;
  return open && open.db === db && !(open.trx as Knex.Transaction).isCompleted() ? (open.trx as Knex.Transaction) : undefined;
}

/**
 * Runs `work` in the transaction of `db` already open in this async context, or in a new one that
 * commits when `work` resolves and rolls back when it throws. Nested calls see the same transaction;
 * only the outermost call commits.
 */
export async function inTransaction<T>(db: Knex, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  const open = openTransactionOf(db);
  if (open) return work(open);
  return db.transaction((trx) =>
    requestContext.run({ ...requestContext.getStore(), transaction: { db, trx } }, async () => {
      const steps: CommitStep[] = [];
      commitSteps.set(trx, steps);
      const result = await work(trx);
      // Steps may add steps; each runs once, in the order added.
      for (let step = steps.shift(); step; step = steps.shift()) await step();
      return result;
    }),
  );
}

type CommitStep = () => Promise<void>;
const commitSteps = new WeakMap<Knex.Transaction, CommitStep[]>();

/**
 * Runs `step` after the rest of the transaction's work, just before it commits: a lock taken there is
 * held for the commit only (audit numbers its feed rows in commit order this way). The transaction must
 * have been opened by `inTransaction`, else nothing would run the step: that throws at once.
 */
export function beforeCommit(trx: Knex.Transaction, step: CommitStep): void {
  const steps = commitSteps.get(trx);
  if (!steps) throw new Error('beforeCommit() needs a transaction opened by inTransaction()');
  steps.push(step);
}

/** The transaction of `db` open in this async context, else `db`: reads before a write join it rather than take a second pooled connection. */
export function currentDb(db: Knex): Knex {
  return openTransactionOf(db) ?? db;
}

/** Runs `effect` once the transaction commits (never when it rolls back): wake a mailer only for mail that exists. */
export function afterCommit(trx: Knex.Transaction, effect: () => void): void {
  trx.executionPromise.then(effect, () => undefined);
}
