// A caller's live change feed: replay after a position, then live entries, with no gap and no duplicate
// at the seam, under the same visibility rules as the activity list; ends when the caller loses access.
import { AppError, type Knex, MEMBERSHIP_TABLE, type MembershipReplica, type Role } from '@taskflow/shared';
import { activitySeqOf, type FeedActivity, organizationsActivityAfter } from '../db/feed';
import type { FeedTail } from './feed-tail';
import type { ReadableActivity } from './list-activity';

export interface ActivityStreamDeps {
  db: Knex;
  replica: MembershipReplica;
  activityTail: FeedTail<FeedActivity>;
  /** Live rows held while a replay runs; beyond it the replay simply reads on from the table. */
  maxPendingRows?: number;
}

export interface ActivityStreamInput {
  /** Only this organization (404 when the caller is not a member); otherwise all of theirs. */
  organization?: string;
  /** Replay every visible entry after this one (Last-Event-ID or `?after=`). */
  after?: string;
}

export interface ActivityStreamSink {
  deliver(entry: ReadableActivity): void;
  end(reason: 'access_revoked'): void;
  /** True once the client is gone; the stream stops reading. */
  readonly closed: boolean;
  /** The client is behind: a replay waits for `drained()` rather than buffering more. */
  readonly backlogged: boolean;
  drained(): Promise<void>;
}

export type StreamKey = string;
export const organizationKey = (id: string): StreamKey => `organization:${id}`;
export const memberKey = (userId: string): StreamKey => `member:${userId}`;

/** Where a feed row is delivered: its organization, and the member it is about (so a stream sees its owner join another organization). */
export const activityKeysOf = (row: FeedActivity): StreamKey[] =>
  row.target_type === 'member' ? [organizationKey(row.organization_id), memberKey(row.target_id)] : [organizationKey(row.organization_id)];

const REPLAY_PAGE = 500;

const newRoleOf = (row: FeedActivity): Role | null => {
  const change = row.changes.role;
  return change ? ((change[1] as Role | null) ?? null) : null;
};

/**
 * Checks the caller's access and position (errors are thrown before anything is streamed), then
 * streams into `sink`. Resolves once the stream runs live; call the returned function when it ends.
 */
export async function openActivityStream(deps: ActivityStreamDeps, actor: { id: string }, input: ActivityStreamInput, sink: ActivityStreamSink): Promise<() => void> {
  const { db, replica, activityTail } = deps;
  const roles = new Map<string, Role>();
  if (input.organization) {
    roles.set(input.organization, await replica.requireRole(actor.id, input.organization));
  } else {
    const rows: Array<{ organization_id: string; role: Role }> = await replica.organizationsOf(actor.id).select('role');
    for (const row of rows) roles.set(row.organization_id, row.role);
  }
  let cursor = activityTail.position;
  if (input.after !== undefined) {
    // Organizations the caller belongs or belonged to (removals stay in the replica as tombstones).
    const own = db(MEMBERSHIP_TABLE).select('organization_id').where({ user_id: actor.id });
    const seq = await activitySeqOf(db, input.after, own);
    if (seq === undefined) {
      throw new AppError(400, 'invalid_last_event_id', 'Last-Event-ID (or after) names no entry of your organizations; reconnect without it.', {
        after: ['Unknown entry.'],
      });
    }
    cursor = seq;
  }

  const unsubscribers = new Map<StreamKey, () => void>();
  const follow = (key: StreamKey) => {
    if (!unsubscribers.has(key)) unsubscribers.set(key, activityTail.subscribe(key, onRow));
  };
  const close = () => {
    for (const unsubscribe of unsubscribers.values()) unsubscribe();
    unsubscribers.clear();
  };
  let ended = false;
  let replaying = true;
  let pending: FeedActivity[] = [];
  let overflowed = false;
  const maxPending = deps.maxPendingRows ?? 1000;

  /** One row in feed order, replayed or live: membership changes of the caller first, then delivery. */
  function handle(row: FeedActivity): void {
    if (ended || row.seq <= cursor) return;
    cursor = row.seq;
    const org = row.organization_id;
    const aboutCaller = row.target_type === 'member' && row.target_id === actor.id;
    if (aboutCaller && (!input.organization || input.organization === org)) {
      if (row.verb === 'membership.removed') {
        const role = roles.get(org);
        if (!role) return;
        // The entry telling them is the last they see: a reconnect resumes after it.
        sink.deliver({ ...row, reader_role: role });
        ended = true;
        close();
        sink.end('access_revoked');
        return;
      }
      const role = newRoleOf(row);
      if (role) roles.set(org, role);
    }
    const role = roles.get(org);
    if (role) sink.deliver({ ...row, reader_role: role });
  }

  function onRow(row: FeedActivity): void {
    if (sink.closed) return close();
    // Joining another organization: follow it now, synchronously, so none of its later rows is missed.
    if (!input.organization && row.verb === 'membership.added' && row.target_id === actor.id) follow(organizationKey(row.organization_id));
    if (!replaying) return handle(row);
    if (pending.length >= maxPending) {
      overflowed = true;
      pending = [];
    } else pending.push(row);
  }

  // Subscribe first, then replay: rows committed meanwhile arrive in `pending`, and `cursor` drops duplicates.
  follow(memberKey(actor.id));
  for (const org of roles.keys()) follow(organizationKey(org));
  try {
    for (;;) {
      overflowed = false;
      for (;;) {
        const orgs = [...unsubscribers.keys()].filter((k) => k.startsWith('organization:')).map((k) => k.slice('organization:'.length));
        const rows = await organizationsActivityAfter(db, orgs, cursor, REPLAY_PAGE);
        for (const row of rows) {
          handle(row);
          if (sink.backlogged) await sink.drained();
        }
        if (rows.length < REPLAY_PAGE || ended || sink.closed) break;
      }
      // Held rows were dropped: everything they held is in the table, after `cursor`.
      if (!overflowed || ended || sink.closed) break;
    }
  } catch (err) {
    close();
    throw err;
  }
  replaying = false;
  const held = pending;
  pending = [];
  for (const row of held) handle(row);
  return close;
}
