// The shared value rules of API.md (Values): date ranges and control characters, cell by cell.
import { isoDate, isoDateTime, multiLineText, singleLineText } from '@taskflow/shared';

const ok = (schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) => schema.safeParse(value).success;

describe('isoDate', () => {
  it.each([
    ['0001-01-01', true],
    ['2026-04-15', true],
    ['9999-12-31', true],
    ['0000-01-01', false],
    ['0000-02-29', false],
    ['10000-01-01', false],
    ['-0001-01-01', false],
    ['2026-02-30', false],
  ])('%p: %p', (value, expected) => expect(ok(isoDate(), value)).toBe(expected));

  it('names the range in its message', () => {
    expect(isoDate().safeParse('0000-01-01').error?.issues.map((i) => i.message)).toEqual(['Dates must be in the years 0001 to 9999.']);
  });
});

describe('isoDateTime', () => {
  it.each([
    ['0001-01-01T00:00:00Z', true],
    ['2026-11-27T21:50:59.615Z', true],
    ['9999-12-31T23:59:59.999Z', true],
    ['0000-01-01T00:00:00Z', false],
    ['0000-12-31T23:59:59.999Z', false],
    ['+010000-01-01T00:00:00Z', false],
  ])('%p: %p', (value, expected) => expect(ok(isoDateTime(), value)).toBe(expected));

  it.each([
    ['0001-01-01T01:00:00+01:00', true],
    ['0001-01-01T00:00:00+01:00', false],
    ['9999-12-31T18:59:59-05:00', true],
    ['9999-12-31T23:59:59-05:00', false],
  ])('with offsets, the UTC instant counts too: %p: %p', (value, expected) => expect(ok(isoDateTime({ offset: true }), value)).toBe(expected));

  it('gives one message for something that is no timestamp at all', () => {
    expect(isoDateTime().safeParse('soon').error?.issues).toHaveLength(1);
  });
});

describe('singleLineText (names, titles)', () => {
  const name = singleLineText().min(1).max(255);
  it.each([
    ['Write the spec', true],
    ['Zoë — 東京 🚀', true],
    ['a\u0000b', false],
    ['a\tb', false],
    ['a\nb', false],
    ['title\n', true],
    ['\tpadded title \n', true],
    ['a\rb', false],
    ['a\u001bb', false],
    ['a\u007fb', false],
    ['a\u0080b', true],
  ])('%p: %p', (value, expected) => expect(ok(name, value)).toBe(expected));

  it('trims before it counts and checks', () => {
    expect(name.parse('\tpadded title \n')).toBe('padded title');
    expect(name.safeParse(' \n ').success).toBe(false);
  });

  it('says why as a field message', () => {
    expect(name.safeParse('a\u0001').error?.issues.map((i) => i.message)).toEqual(['This field may not contain control characters.']);
  });
});

describe('multiLineText (descriptions)', () => {
  const description = multiLineText().max(10_000);
  it.each([
    ['line one\nline two', true],
    ['col\tcol', true],
    ['', true],
    ['a\r\nb', false],
    ['a\u0000b', false],
    ['a\u000bb', false],
    ['a\u000cb', false],
    ['a\u007fb', false],
  ])('%p: %p', (value, expected) => expect(ok(description, value)).toBe(expected));
});
