// What the tenancy use cases need (`deps`): the database, the outbox, the mail settings and identity's account lookup.
import type { Knex, Outbox } from '@taskflow/shared';
import type { AccountLookup } from './verification';

export interface Actor {
  id: string;
  email: string;
  /** The actor's bearer token, when a use case may have to ask identity about the actor. */
  accessToken?: string;
}

export interface MailSettings {
  from: string;
  /** Contains `{token}`. */
  inviteAcceptUrl: string;
}

export interface TenancyDeps {
  db: Knex;
  outbox: Outbox;
  mail: MailSettings;
  /** Called once a transaction that queued mail has committed (`afterCommit`). */
  mailQueued(): void;
  accounts: AccountLookup;
}
