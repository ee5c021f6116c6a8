// What the tenancy use cases need: the database, the outbox, and the mail settings.
import { AppError, conflict, forbidden, type Knex, notFound, type Outbox } from '@taskflow/shared';
import type { Decision } from './policy';

export interface Caller {
  id: string;
  email: string;
}

export interface MailSettings {
  from: string;
  /** Contains `{token}`. */
  inviteAcceptUrl: string;
}

export interface TenancyContext {
  db: Knex;
  outbox: Outbox;
  mail: MailSettings;
  /** Called after a transaction that queued mail has committed. */
  mailQueued(): void;
}

export const lastOwner = () => conflict('An organization must always keep at least one owner.', 'last_owner');

/** Turns a policy decision into the error the caller sees (nothing when allowed). */
export function enforce(decision: Decision): void {
  switch (decision) {
    case 'allow':
      return;
    case 'not_found':
      throw notFound();
    case 'forbidden':
      throw forbidden();
    case 'last_owner':
      throw lastOwner();
  }
}

export const inviteError = (detail: string, code: string) => new AppError(400, code, detail);
