// Endpoints table: every statement about webhook endpoints.
import { type KeyValue, keyset, keysetPage, type Knex } from '@taskflow/shared';
import type { Endpoint } from '../domain/model';

type Db = Knex | Knex.Transaction;

const TABLE = 'webhooks.endpoints';
const PUBLIC_COLUMNS = ['id', 'organization_id', 'url', 'events', 'description', 'enabled', 'disabled_reason', 'version', 'created_at', 'updated_at'];

export interface EndpointRow {
  id: string;
  organization_id: string;
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
  disabled_reason: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** What the delivery worker needs to sign: the secrets, still encrypted. */
export interface EndpointSecrets {
  secret_encrypted: string;
  previous_secret_encrypted: string | null;
  previous_secret_expires_at: Date | null;
}

export function toEndpoint(row: EndpointRow): Endpoint {
  return {
    id: row.id,
    organization: row.organization_id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    disabled_reason: row.disabled_reason,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    version: row.version,
  };
}

/** The organization an endpoint belongs to (only that, so no other tenant's data is loaded before the check). */
export async function endpointOrganization(db: Db, id: string): Promise<string | undefined> {
  const row = await db(TABLE).select('organization_id').where({ id }).first();
  return row?.organization_id as string | undefined;
}

export async function findEndpoint(db: Db, id: string, organizationId: string, options: { lock?: boolean } = {}): Promise<Endpoint | undefined> {
  const query = db(TABLE).select(PUBLIC_COLUMNS).where({ id, organization_id: organizationId }).first();
  if (options.lock) query.forUpdate();
  const row = (await query) as EndpointRow | undefined;
  return row ? toEndpoint(row) : undefined;
}

export async function insertEndpoint(
  trx: Knex.Transaction,
  values: { organization_id: string; url: string; events: string[]; description: string; secret_encrypted: string },
): Promise<Endpoint> {
  const [row] = await trx(TABLE).insert(values).returning(PUBLIC_COLUMNS);
  return toEndpoint(row as EndpointRow);
}

export type EndpointUpdate = Partial<{
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: null;
  secret_encrypted: string;
  previous_secret_encrypted: string | null;
  previous_secret_expires_at: Date | null;
}>;

export async function updateEndpoint(trx: Knex.Transaction, id: string, values: EndpointUpdate): Promise<Endpoint> {
  const [row] = await trx(TABLE)
    .where({ id })
    .update({ ...values, version: trx.raw('version + 1'), updated_at: trx.fn.now() })
    .returning(PUBLIC_COLUMNS);
  return toEndpoint(row as EndpointRow);
}

export async function deleteEndpointRow(trx: Knex.Transaction, id: string): Promise<void> {
  await trx(TABLE).where({ id }).delete();
}

/** Lists are newest first, ties broken by id. */
export const newestFirst = keyset([
  { column: 'created_at', descending: true },
  { column: 'id', descending: true },
]);

/** One organization's endpoints, newest first, after the cursor `[created_at, id]`. */
export async function listEndpoints(db: Db, organizationId: string, after: readonly [KeyValue, string] | undefined, limit: number): Promise<Endpoint[]> {
  const query = keysetPage(db(TABLE).select(PUBLIC_COLUMNS).where({ organization_id: organizationId }), newestFirst, 'endpoints', after).limit(limit);
  return ((await query) as EndpointRow[]).map(toEndpoint);
}

/** The enabled endpoints of an organization that subscribe to `verb` (or to everything). */
export async function subscribedEndpoints(trx: Knex.Transaction, organizationId: string, verb: string): Promise<Array<{ id: string }>> {
  return trx(TABLE).select('id').where({ organization_id: organizationId, enabled: true }).whereRaw(`events && array['*', ?]::text[]`, [verb]);
}

export async function endpointSecrets(db: Db, id: string): Promise<EndpointSecrets | undefined> {
  return db(TABLE).select('secret_encrypted', 'previous_secret_encrypted', 'previous_secret_expires_at').where({ id }).first();
}

/** Deletes every endpoint of a deleted organization (their deliveries go with them). */
export async function deleteEndpointsOfOrganization(trx: Knex.Transaction, organizationId: string): Promise<void> {
  await trx(TABLE).where({ organization_id: organizationId }).delete();
}

/** After a failed attempt: starts the failure clock if it is not running; returns since when the endpoint has been failing. */
export async function noteFailure(trx: Knex.Transaction, id: string): Promise<{ failing_since: Date; enabled: boolean } | undefined> {
  const [row] = await trx(TABLE).where({ id }).update({ failing_since: trx.raw('coalesce(failing_since, now())') }).returning(['failing_since', 'enabled']);
  return row as { failing_since: Date; enabled: boolean } | undefined;
}

export async function noteSuccess(trx: Knex.Transaction, id: string): Promise<void> {
  await trx(TABLE).where({ id }).whereNotNull('failing_since').update({ failing_since: null });
}

/** Disables an enabled endpoint (no-op when already disabled); returns it when this call disabled it. */
export async function disableEndpoint(trx: Knex.Transaction, id: string, reason: string): Promise<Endpoint | undefined> {
  const [row] = await trx(TABLE)
    .where({ id, enabled: true })
    .update({ enabled: false, disabled_reason: reason, version: trx.raw('version + 1'), updated_at: trx.fn.now() })
    .returning(PUBLIC_COLUMNS);
  return row ? toEndpoint(row as EndpointRow) : undefined;
}
