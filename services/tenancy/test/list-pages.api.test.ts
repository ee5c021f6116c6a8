// The list pages PostgreSQL writes as JSON text are byte for byte what the presenters and JSON.stringify
// make of the same rows: field names and order, nulls, escapes, timestamps, cursors and `next` links.
import { encodeCursor } from '@taskflow/shared';
import { inviteById, type InviteRow } from '../src/db/invites';
import { memberOf } from '../src/db/memberships';
import { presentInvite, presentMember, presentOrganization } from '../src/http/presenters';
import { type Harness, startHarness, type TestUser } from './support';

describe('list pages written by PostgreSQL', () => {
  let h: Harness;
  let org: { id: string; name: string };
  let owner: TestUser;
  let member: TestUser;
  let second: { id: string; name: string };

  beforeAll(async () => {
    h = await startHarness();
    ({ org, owner, member } = await h.organization());
    second = await h.createOrg(member, 'Ünïcødé "quoted" \\ org ✓');
    for (const email of ['pending@example.com', 'expired@example.com', 'revoked@example.com']) {
      expect((await h.invite(owner, org.id, email)).status).toBe(201);
    }
    await h.db('invites').where({ email: 'expired@example.com' }).update({ expires_at: h.db.raw("now() - interval '1 day'") });
    await h.db('invites').where({ email: 'revoked@example.com' }).update({ status: 'revoked' });
  });
  afterAll(() => h.close());

  const raw = async (path: string, user: TestUser) => {
    const res = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    return { text: await res.text(), link: res.headers.get('link') };
  };
  const page = (results: unknown[], next: string | null) => JSON.stringify({ results, next });

  it('organizations', async () => {
    const rows = await h
      .db({ o: 'organizations' })
      .join({ m: 'memberships' }, 'm.organization_id', 'o.id')
      .where('m.user_id', member.id)
      .select('o.id', 'o.name', 'o.version', 'o.created_at', 'm.role')
      .orderBy(['o.created_at', 'o.id']);
    expect(rows).toHaveLength(2);
    const next = `/api/v1/organizations?limit=1&cursor=${encodeCursor([rows[0].created_at.toISOString(), rows[0].id])}`;
    const first = await raw('/api/v1/organizations?limit=1', member);
    expect(first.text).toBe(page([presentOrganization(rows[0])], next));
    expect(first.link).toBe(`<${next}>; rel="next"`);
    expect((await raw(next, member)).text).toBe(page([presentOrganization(rows[1])], null));
    expect(rows[1].name).toBe(second.name);
  });

  it('members', async () => {
    const ids = (await h.db('memberships').where({ organization_id: org.id }).orderBy(['joined_at', 'user_id']).select('user_id')).map((r) => r.user_id as string);
    const members = await Promise.all(ids.map((id) => memberOf(h.db, org.id, id)));
    const next = `/api/v1/organizations/${org.id}/members?limit=2&cursor=${encodeCursor([members[1]!.joined_at.toISOString(), members[1]!.user_id])}`;
    expect((await raw(`/api/v1/organizations/${org.id}/members?limit=2`, member)).text).toBe(page(members.slice(0, 2).map((m) => presentMember(m!)), next));
    expect((await raw(next, member)).text).toBe(page(members.slice(2).map((m) => presentMember(m!)), null));
  });

  it.each([[''], ['&status=pending'], ['&status=expired'], ['&status=revoked'], ['&status=accepted']])('invites%s', async (status) => {
    const ids = (await h.db('invites').where({ organization_id: org.id }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).select('id')).map(
      (r) => r.id as string,
    );
    const wanted = status.replace('&status=', '');
    const invites = (await Promise.all(ids.map((id) => inviteById(h.db, id)))).filter((i): i is InviteRow => !wanted || i!.effective_status === wanted);
    expect(invites.length).toBeGreaterThan(0);
    const path = `/api/v1/invites?organization=${org.id}${status}&limit=1`;
    const next = invites.length > 1 ? `${path}&cursor=${encodeCursor([invites[0]!.created_at.toISOString(), invites[0]!.id])}` : null;
    expect((await raw(path, owner)).text).toBe(page([presentInvite(invites[0]!)], next));
  });
});
