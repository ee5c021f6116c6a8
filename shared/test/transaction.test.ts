import type { Knex } from 'knex';
import { afterCommit, beforeCommit, createDb, currentDb, inTransaction, requestContext } from '@taskflow/shared';
import { createTestDatabase, eventually, type TestDatabase } from '@taskflow/shared/testing';

describe('inTransaction', () => {
  let database: TestDatabase;
  let db: Knex;
  let otherDb: Knex;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema: 'public', poolMax: 4 });
    otherDb = createDb({ url: database.url, schema: 'public', poolMax: 2 });
    await db.schema.createTable('notes', (t) => {
      t.text('text').primary();
    });
  });
  afterAll(async () => {
    await otherDb.destroy();
    await db.destroy();
    await database.drop();
  });

  const stored = async () => (await db('notes').select('text').orderBy('text')).map((r) => r.text as string);
  const txid = async (runner: Knex) => String((await runner.raw('select txid_current() as id')).rows[0].id);

  it('joins the transaction already open in the async context instead of opening a second one', async () => {
    const [outer, inner] = await inTransaction(db, async (trx) => [await txid(trx), await inTransaction(db, (nested) => txid(nested))]);
    expect(inner).toBe(outer);
  });

  it('hands nested calls, however deep and however concurrent, the very same transaction object', async () => {
    const seen = await inTransaction(db, async (trx) => {
      const nested = await Promise.all([inTransaction(db, async (a) => a), inTransaction(db, async () => inTransaction(db, async (c) => c))]);
      return { trx, nested };
    });
    expect(seen.nested).toEqual([seen.trx, seen.trx]);
  });

  it('rolls back every write of the outer and the nested calls when a nested call throws', async () => {
    await expect(
      inTransaction(db, async (trx) => {
        await trx('notes').insert({ text: 'outer-1' });
        await inTransaction(db, async (nested) => {
          await nested('notes').insert({ text: 'inner-1' });
          throw new Error('refused');
        });
      }),
    ).rejects.toThrow('refused');
    expect(await stored()).not.toEqual(expect.arrayContaining(['outer-1']));
    expect(await stored()).not.toEqual(expect.arrayContaining(['inner-1']));
  });

  it('commits the writes of nested calls only when the outermost call resolves', async () => {
    await inTransaction(db, async () => {
      await inTransaction(db, (nested) => nested('notes').insert({ text: 'inner-2' }));
      // Not visible to another connection yet: the nested call did not commit on its own.
      expect((await otherDb('notes').where({ text: 'inner-2' })).length).toBe(0);
    });
    expect(await stored()).toContain('inner-2');
  });

  it('opens separate transactions for calls that are not nested, and never joins a transaction of another database handle', async () => {
    const [a, b] = await Promise.all([inTransaction(db, (trx) => txid(trx)), inTransaction(db, (trx) => txid(trx))]);
    expect(a).not.toBe(b);
    const [mine, other] = await inTransaction(db, async (trx) => [await txid(trx), await inTransaction(otherDb, (trx2) => txid(trx2))]);
    expect(other).not.toBe(mine);
  });

  it('keeps the request id of the surrounding request context', async () => {
    const seen = await requestContext.run({ requestId: 'req-1' }, () => inTransaction(db, async () => requestContext.getStore()?.requestId));
    expect(seen).toBe('req-1');
  });

  it('reads through currentDb join the open transaction and see its uncommitted rows', async () => {
    const seen = await inTransaction(db, async (trx) => {
      await trx('notes').insert({ text: 'uncommitted-3' });
      return (await currentDb(db)('notes').where({ text: 'uncommitted-3' })).length;
    });
    expect(seen).toBe(1);
    expect(currentDb(db)).toBe(db);
  });

  it('runs afterCommit effects once the transaction commits, and never after a rollback', async () => {
    const effects: string[] = [];
    await inTransaction(db, async (trx) => afterCommit(trx, () => effects.push('committed')));
    await expect(
      inTransaction(db, async (trx) => {
        afterCommit(trx, () => effects.push('rolled back'));
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await eventually(() => effects.length > 0);
    expect(effects).toEqual(['committed']);
  });

  it('runs beforeCommit steps after the rest of the work, in the transaction, in order (steps may add steps)', async () => {
    const order: string[] = [];
    const ids = await inTransaction(db, async (trx) => {
      beforeCommit(trx, async () => {
        order.push('first step');
        await trx('notes').insert({ text: 'from-step' });
        beforeCommit(trx, async () => void order.push('added by a step'));
      });
      beforeCommit(trx, async () => void order.push('second step'));
      await inTransaction(db, async (nested) => void beforeCommit(nested, async () => void order.push('nested step')));
      order.push('work');
      return txid(trx);
    });
    expect(order).toEqual(['work', 'first step', 'second step', 'nested step', 'added by a step']);
    expect(ids).toMatch(/^\d+$/);
    expect(await stored()).toEqual(expect.arrayContaining(['from-step']));
  });

  it('rolls back when a beforeCommit step throws, and refuses a transaction nothing would run the steps of', async () => {
    await expect(
      inTransaction(db, async (trx) => {
        await trx('notes').insert({ text: 'before-failed-step' });
        beforeCommit(trx, async () => {
          throw new Error('step refused');
        });
      }),
    ).rejects.toThrow('step refused');
    expect(await stored()).not.toEqual(expect.arrayContaining(['before-failed-step']));
    await expect(db.transaction(async (trx) => beforeCommit(trx, async () => undefined))).rejects.toThrow(/inTransaction/);
  });
});
