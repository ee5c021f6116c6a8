// If-Match per RFC 9110: the parser and the strong comparison, cell by cell.
import { ifMatchAccepts, type IfMatch, parseIfMatch } from '@taskflow/shared';

/** Whether `header` lets a write of the resource at `version` through (throws like the routes do). */
const accepts = (header: string, version: number) => ifMatchAccepts(parseIfMatch(header), version);

describe('If-Match against version 3', () => {
  it.each([
    ['"3"', true],
    ['  "3"\t', true],
    ['"03"', false],
    ['"3 "', 'malformed'],
    ['"2"', false],
    ['"3.0"', false],
    ['"v3"', false],
    ['""', false],
    ['W/"3"', false],
    ['W/"3", "3"', true],
    ['"1", "3"', true],
    ['"1","3"', true],
    ['"1" , "3"', true],
    ['"1", "2"', false],
    ['"1", , "3"', true],
    [', "3",', true],
    [',', false],
    ['*', true],
    ['"a,b", "3"', true],
    ['"é3"', false],
  ] as const)('%p: %p', (header, expected) => {
    if (expected === 'malformed') expect(() => parseIfMatch(header)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_if_match' }));
    else expect(accepts(header, 3)).toBe(expected);
  });
});

describe('malformed If-Match values are 400 invalid_if_match, never 412', () => {
  it.each(['3', 'whatever', '"3', '3"', "'3'", 'w/"3"', 'W/3', 'W/ "3"', '"3" "4"', '"3";', '"3"x', '* , "3"', '**', '"a"b"', '"tab\there"', '"del\x7f"', 'W/'])(
    '%p',
    (header) => {
      expect(() => parseIfMatch(header)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_if_match' }));
    },
  );
});

describe('no precondition', () => {
  it('treats an absent or blank header as no condition at all', () => {
    expect(parseIfMatch('')).toBeUndefined();
    expect(parseIfMatch('  ')).toBeUndefined();
    expect(ifMatchAccepts(undefined, 7)).toBe(true);
  });

  it('reads the parsed forms as declared', () => {
    expect(parseIfMatch('*')).toEqual<IfMatch>({ any: true });
    expect(parseIfMatch('W/"1", "2", "x"')).toEqual<IfMatch>({ any: false, strongTags: ['2', 'x'] });
  });
});
