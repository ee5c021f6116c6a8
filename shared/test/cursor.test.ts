// The cursor codec: what `?cursor=` accepts, and that everything else is 400 `invalid_cursor`, never a 500.
import { cursor, encodeCursor, isoDateTime, pageQuery, parseOrThrow, sameOrdering } from '@taskflow/shared';
import { z } from 'zod';

const ID = '3f2b8c1e-6d4a-4b7e-9a1c-2e5f7d8b9c0a';
const AT = '2026-11-27T10:00:00.000Z';

const timestamped = pageQuery(cursor(z.tuple([isoDateTime(), z.uuid()])));
const ordered = pageQuery(
  cursor(z.union([z.tuple([z.literal('-created_at'), isoDateTime(), z.uuid()]), z.tuple([z.literal('priority'), z.number().int(), z.uuid()])])),
)
  .extend({ ordering: z.enum(['-created_at', 'priority']).default('-created_at') })
  .superRefine(sameOrdering);

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const invalidCursor = expect.objectContaining({ status: 400, code: 'invalid_cursor', errors: { cursor: ['Invalid cursor.'] } });

describe('cursor(...)', () => {
  it('gives back the values it was encoded from', () => {
    expect(parseOrThrow(timestamped, { cursor: encodeCursor([AT, ID]) })).toEqual({ limit: 50, cursor: [AT, ID] });
    expect(parseOrThrow(ordered, { cursor: encodeCursor(['priority', 3, ID]), ordering: 'priority' }).cursor).toEqual(['priority', 3, ID]);
  });

  it('leaves the cursor out when none is sent', () => {
    expect(parseOrThrow(timestamped, {})).toEqual({ limit: 50 });
  });

  it.each([
    ['not base64 JSON', 'not base64 at all!'],
    ['empty', ''],
    ['an object', b64('{"a":1}')],
    ['too few values', encodeCursor([AT])],
    ['too many values', encodeCursor([AT, ID, 1])],
    ['a bad timestamp', encodeCursor(['yesterday', ID])],
    ['year 0000', encodeCursor(['0000-12-31T23:59:59.000Z', ID])],
    ['year 10000', b64(`["+010000-01-01T00:00:00.000Z","${ID}"]`)],
    ['a bad id', encodeCursor([AT, "' OR 1=1--"])],
    ['a null', b64(`[null,"${ID}"]`)],
    ['a huge number', b64('[1e308,1e308]')],
  ])('refuses a cursor with %s as invalid_cursor', (_, value) => {
    expect(() => parseOrThrow(timestamped, { cursor: value })).toThrow(invalidCursor);
  });

  it('refuses a cursor of one ordering used with another', () => {
    expect(() => parseOrThrow(ordered, { cursor: encodeCursor(['-created_at', AT, ID]), ordering: 'priority' })).toThrow(invalidCursor);
    expect(() => parseOrThrow(ordered, { cursor: encodeCursor(['priority', 2, ID]) })).toThrow(invalidCursor);
  });

  it('refuses a cursor whose value does not fit its ordering', () => {
    expect(() => parseOrThrow(ordered, { cursor: encodeCursor(['priority', AT, ID]), ordering: 'priority' })).toThrow(invalidCursor);
  });

  it('reports the other parameters first: a bad limit with a bad cursor is a field error on limit alone', () => {
    expect(() => parseOrThrow(timestamped, { limit: '0', cursor: 'garbage' })).toThrow(
      expect.objectContaining({ status: 400, code: 'validation_error', errors: { limit: [expect.any(String)] } }),
    );
  });

  it('is a field error, not invalid_cursor, when the cursor is over 1024 characters or repeated', () => {
    expect(() => parseOrThrow(timestamped, { cursor: 'a'.repeat(1025) })).toThrow(expect.objectContaining({ code: 'validation_error' }));
    expect(() => parseOrThrow(timestamped, { cursor: ['a', 'b'] })).toThrow(expect.objectContaining({ code: 'validation_error' }));
  });
});
