// A caller's live change feed: replay after a position, then live entries, with no gap and no duplicate
// at the seam, under the same visibility rules as the activity list; ends when the caller loses access.
import { AppError, type Knex, MEMBERSHIP_TABLE, type MembershipReplica, type Role } from '@taskflow/shared';
import { activitySeqOf, type FeedActivity, organizationsActivityAfter } from '../db/feed';
import { followFeed, type StreamSink } from './feed-stream';
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

export type ActivityStreamSink = StreamSink<ReadableActivity>;

export type StreamKey = string;
const ORGANIZATION = 'organization:';
export const organizationKey = (id: string): StreamKey => `${ORGANIZATION}${id}`;
export const memberKey = (userId: string): StreamKey => `member:${userId}`;

/** Where a feed row is delivered: its organization, and the member it is about (so a stream sees its owner join another organization). */
export const activityKeysOf = (row: FeedActivity): StreamKey[] =>
  row.target_type === 'member' ? [organizationKey(row.organization_id), memberKey(row.target_id)] : [organizationKey(row.organization_id)];

/**
 * The row as a reader with `role` sees it, one object per row and role: every stream of this process
 * that delivers the row live gets the same object (so it is serialized once, see http/event-stream.ts).
 */
const readable = new WeakMap<FeedActivity, Map<Role, ReadableActivity>>();
function readableAs(row: FeedActivity, role: Role): ReadableActivity {
  let byRole = readable.get(row);
  if (!byRole) readable.set(row, (byRole = new Map()));
  let entry = byRole.get(role);
  if (!entry) byRole.set(role, (entry = { ...row, reader_role: role }));
  return entry;
}

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

  const organizationsOf = (keys: readonly StreamKey[]) => keys.filter((k) => k.startsWith(ORGANIZATION)).map((k) => k.slice(ORGANIZATION.length));
  return followFeed({
    tail: activityTail,
    after: cursor,
    keys: [memberKey(actor.id), ...[...roles.keys()].map(organizationKey)],
    replay: (keys, after, limit) => organizationsActivityAfter(db, organizationsOf(keys), after, limit),
    // Joining another organization: follow it now, synchronously, so none of its later rows is missed.
    arrived(row, stream) {
      if (!input.organization && row.verb === 'membership.added' && row.target_id === actor.id) stream.follow(organizationKey(row.organization_id));
    },
    // Membership changes of the caller first, then delivery under their role.
    handle(row, stream) {
      const org = row.organization_id;
      const aboutCaller = row.target_type === 'member' && row.target_id === actor.id;
      if (aboutCaller && (!input.organization || input.organization === org)) {
        if (row.verb === 'membership.removed') {
          const role = roles.get(org);
          if (!role) return;
          // The entry telling them is the last they see: a reconnect resumes after it.
          sink.deliver(readableAs(row, role));
          stream.close();
          sink.end('access_revoked');
          return;
        }
        const role = newRoleOf(row);
        if (role) roles.set(org, role);
      }
      const role = roles.get(org);
      if (role) sink.deliver(readableAs(row, role));
    },
    sink,
    maxPendingRows: deps.maxPendingRows,
  });
}
