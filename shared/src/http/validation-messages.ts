// One wording for validation errors in every service: short sentences a person can act on, in the
// style the Django original used ("This field is required."), instead of zod's defaults
// ("Invalid input: expected string, received undefined"). A message a schema states itself wins.
import type { z } from 'zod';

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  date: 'a date',
};

const formatNames: Record<string, string> = {
  uuid: 'Must be a valid UUID.',
  guid: 'Must be a valid UUID.',
  email: 'Enter a valid email address.',
  url: 'Enter a valid URL.',
  datetime: 'Must be an RFC 3339 timestamp, e.g. 2026-11-30T09:00:00Z.',
  date: 'Must be a date, YYYY-MM-DD.',
};

const plural = (n: number | bigint, word: string) => `${n} ${word}${Number(n) === 1 ? '' : 's'}`;

function sizeMessage(origin: string, bound: number | bigint, atLeast: boolean): string {
  const which = atLeast ? 'at least' : 'no more than';
  if (origin === 'string') return atLeast && Number(bound) === 1 ? 'This field may not be blank.' : `Ensure this field has ${which} ${plural(bound, 'character')}.`;
  if (origin === 'array' || origin === 'set') return atLeast && Number(bound) === 1 ? 'This list may not be empty.' : `Ensure this list has ${which} ${plural(bound, 'item')}.`;
  return `Ensure this value is ${atLeast ? 'greater' : 'less'} than or equal to ${bound}.`;
}

/** The message for one zod issue (undefined: keep zod's, e.g. a refinement's own text). */
export const humanMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'This field is required.';
      if (issue.input === null) return 'This field may not be null.';
      return `Must be ${typeNames[issue.expected] ?? issue.expected}.`;
    case 'too_small':
      return sizeMessage(issue.origin, issue.minimum, true);
    case 'too_big':
      return sizeMessage(issue.origin, issue.maximum, false);
    case 'invalid_value':
      if (issue.input === null) return 'This field may not be null.';
      return `${JSON.stringify(issue.input)} is not a valid choice; one of: ${issue.values.map((v) => String(v)).join(', ')}.`;
    case 'invalid_format':
      return formatNames[issue.format] ?? 'Has an invalid format.';
    case 'unrecognized_keys':
      return 'Unknown field.';
    case 'invalid_union':
      return 'Not a valid value.';
    default:
      return undefined;
  }
};
