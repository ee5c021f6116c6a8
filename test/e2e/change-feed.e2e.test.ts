// Following an organization's changes through the gateway: live, then a dropped connection, then a
// reconnect with Last-Event-ID that misses nothing; another tenant cannot follow it.
import { eventually, openEventStream, type TestEventStream } from '@taskflow/shared/testing';
import { type Account, newAccount, startSystem, type System } from './system';

const WAIT = 10_000;

describe('change feed through the gateway', () => {
  let system: System;
  let owner: Account;
  let outsider: Account;
  let org: string;
  let project: string;
  const open: TestEventStream[] = [];

  const follow = async (who: Account, headers: Record<string, string> = {}, query = `?organization=${org}`) => {
    const stream = await openEventStream(system.url, `/api/v1/activity/stream/${query}`, { token: who.access, headers });
    open.push(stream);
    return stream;
  };
  const createTasks = async (prefix: string, n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 1) {
      const res = await owner.call('POST', '/api/v1/tasks/', { project, title: `${prefix} ${i}` });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    return ids;
  };
  const targets = (stream: TestEventStream) => stream.events.map((e) => JSON.parse(e.data).target.id as string);

  beforeAll(async () => {
    system = await startSystem();
    [owner, outsider] = await Promise.all([newAccount(system, 'feed-owner'), newAccount(system, 'feed-stranger')]);
    org = (await owner.call('POST', '/api/v1/organizations/', { name: 'Feed Co' })).body.id;
    project = (await owner.call('POST', '/api/v1/projects/', { organization: org, name: 'Feed' })).body.id;
    // The set-up's own entries land first, so the streams below carry only the tasks.
    await eventually(async () => (await owner.call('GET', `/api/v1/activity/?organization=${org}&verb=project.created`)).body.results.length === 1, WAIT);
  }, 60_000);

  afterAll(async () => {
    for (const s of open) s.close();
    await system?.close();
  });

  it('delivers changes live, and after a reconnect with Last-Event-ID exactly the missed ones, then live ones', async () => {
    const first = await follow(owner);
    expect(first.status).toBe(200);
    const seen = await createTasks('Seen', 2);
    await first.waitForEvents(2, WAIT);
    expect(targets(first)).toEqual(seen);
    first.close();

    const missed = await createTasks('Missed', 3);
    const again = await follow(owner, { 'last-event-id': first.events[1]!.id! });
    await again.waitForEvents(3, WAIT);
    const live = await createTasks('Live', 1);
    await again.waitForEvents(4, WAIT);
    expect(targets(again)).toEqual([...missed, ...live]);
    expect(again.events.map((e) => e.event)).toEqual(['task.created', 'task.created', 'task.created', 'task.created']);
  });

  it("does not let another tenant follow the organization, nor anyone without a token", async () => {
    const foreign = await follow(outsider);
    expect(foreign.status).toBe(404);
    const anonymous = await openEventStream(system.url, `/api/v1/activity/stream/?organization=${org}`);
    expect(anonymous.status).toBe(401);
  });
});
