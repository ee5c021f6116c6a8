// The feeds' order: rows are numbered in commit order under a lock held only for the final inserts and
// the commit, so a reader that follows `seq` never misses a row that commits late, and a transaction that
// is still working does not hold up the others.
import { randomUUID } from 'node:crypto';
import { createDb, inTransaction, type Knex, migrate } from '@taskflow/shared';
import { createTestDatabase, eventually, type TestDatabase } from '@taskflow/shared/testing';
import { activityAfter, appendToFeeds, type FeedActivity, lastActivitySeq } from '../src/db/feed';
import { AUDIT_SCHEMA, migrations } from '../src/db/migrations';
import { type ActivityRecord, activityOf } from '../src/domain/activity';
import { FeedTail } from '../src/domain/feed-tail';
import { envelopeOf, events, newUser, silent } from './support';

/** The entry audit records for a task created in `organizationId`. */
const entry = (organizationId: string, title: string): ActivityRecord => activityOf(envelopeOf(events.taskCreated(organizationId, title, newUser('writer'))))!;

describe('feed order', () => {
  let database: TestDatabase;
  let db: Knex;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema: AUDIT_SCHEMA, poolMax: 12 });
    await migrate(db, AUDIT_SCHEMA, migrations);
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('lets a transaction commit its entries while another that appended earlier is still working, and numbers them in commit order', async () => {
    const org = randomUUID();
    const [early, late] = [entry(org, 'Appended first, committed last'), entry(org, 'Appended second, committed first')];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let appended!: () => void;
    const appendedEarly = new Promise<void>((resolve) => (appended = resolve));
    const slow = inTransaction(db, async (trx) => {
      await appendToFeeds(trx, early, []);
      appended();
      await held;
    });
    await appendedEarly;
    // With the lock taken at the first append, this would wait for `slow` (and never resolve here).
    await inTransaction(db, async (trx) => void (await appendToFeeds(trx, late, [])));
    release();
    await slow;
    const rows = await db('activity').whereIn('id', [early.id, late.id]).orderBy('seq').select('id');
    expect(rows.map((r) => r.id)).toEqual([late.id, early.id]);
  });

  it('hands a tail every committed row once, in seq order, with no gap, while many transactions of uneven length commit at once', async () => {
    const org = randomUUID();
    const tail = new FeedTail<FeedActivity>({ name: 'activity', lastSeq: () => lastActivitySeq(db), readAfter: (seq, limit) => activityAfter(db, seq, limit), keysOf: () => [org], logger: silent, batchSize: 7 });
    await tail.start();
    const seen: FeedActivity[] = [];
    tail.subscribe(org, (row) => seen.push(row));
    const writers = Array.from({ length: 40 }, (_, i) =>
      inTransaction(db, async (trx) => {
        await appendToFeeds(trx, entry(org, `Entry ${i}`), []);
        // Uneven work after the append: commits land in another order than the appends.
        await trx.raw('select pg_sleep(?)', [(i % 5) * 0.01]);
        if (i % 7 === 0) await appendToFeeds(trx, entry(org, `Entry ${i}b`), []);
      }).then(() => tail.wake()),
    );
    await Promise.all(writers);
    tail.wake();
    const committed = await db('activity').where('organization_id', org).orderBy('seq').select('id', 'seq');
    await eventually(async () => seen.length >= committed.length, 10000);
    expect(seen.map((r) => r.id)).toEqual(committed.map((r) => r.id));
    tail.stop();
  });
});
