// The value rules of API.md (Values) as zod schemas every service's request schemas and cursors share:
// dates and timestamps in the years 0001-9999, names without control characters, descriptions with tab
// and newline only. One definition here, so no service can drift into a 500 (PostgreSQL 22008) again.
import { z } from 'zod';

/** The first and last instants a timestamp may name: the years 0001-9999, in UTC. */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

export const YEAR_RANGE_MESSAGE = 'Dates must be in the years 0001 to 9999.';

/** The written year (the first four digits) is 0001 or later; `z.iso` already refuses more than four digits. */
const writtenYearInRange = (value: string) => !value.startsWith('0000');

/**
 * Both the written year and the UTC instant (an offset can carry 0001-01-01T00:00+01:00 into year 0000).
 * A value that is no timestamp at all is left to the format check, so it gets one message, not two.
 */
const instantInRange = (value: string) => {
  const instant = Date.parse(value);
  return writtenYearInRange(value) && (Number.isNaN(instant) || (instant >= EARLIEST && instant <= LATEST));
};

/** A real calendar day, `YYYY-MM-DD`, in the years 0001-9999. */
export const isoDate = () => z.iso.date().refine(writtenYearInRange, YEAR_RANGE_MESSAGE);

/** An RFC 3339 timestamp (`Z`, or any offset with `offset: true`) naming an instant in the years 0001-9999. */
export const isoDateTime = (options: { offset?: boolean; error?: string } = {}) =>
  z.iso.datetime(options).refine(instantInRange, YEAR_RANGE_MESSAGE);

/** U+0000-U+001F and U+007F: never in a name or a title. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
/** The same without tab and newline, which a description may hold. */
const CONTROL_CHARACTER_BUT_TAB_OR_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f]/;

export const SINGLE_LINE_MESSAGE = 'This field may not contain control characters.';
export const MULTI_LINE_MESSAGE = 'This field may not contain control characters other than tab and newline.';

/**
 * Names and titles: `base` (a plain `z.string()` unless a service has its own messages), trimmed of
 * surrounding whitespace as every name always was, then refusing any control character left inside.
 * Chain `.min().max()` after it, so they count the trimmed value.
 */
export const singleLineText = (base: z.ZodString = z.string()) => base.trim().refine((value) => !CONTROL_CHARACTER.test(value), SINGLE_LINE_MESSAGE);

/** Descriptions: like `singleLineText` but tab and newline are allowed. */
export const multiLineText = (base: z.ZodString = z.string()) =>
  base.refine((value) => !CONTROL_CHARACTER_BUT_TAB_OR_NEWLINE.test(value), MULTI_LINE_MESSAGE);
