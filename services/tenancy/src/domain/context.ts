// What the tenancy use cases need: the database, the outbox, the mail settings and identity's account lookup.
import { AppError, conflict, forbidden, type Knex, notFound, type Outbox } from '@taskflow/shared';
import type { Decision } from './policy';
import type { AccountLookup } from './verification';

export interface Caller {
  id: string;
  email: string;
  /** The caller's bearer token, when a use case may have to ask identity about the caller. */
  accessToken?: string;
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
  accounts: AccountLookup;
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
