// Ids in query filters: a malformed id is "not found", exactly like an unknown one (API.md), never a 400 or a 500.
import { z } from 'zod';

export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Maps a string that cannot be a UUID to the nil UUID, which no organization, project or user has. */
export const malformedIdToNil = (value: unknown) => (typeof value === 'string' && !UUID_SHAPE.test(value) ? NIL_UUID : value);

/** A UUID query filter: a malformed value matches nothing (an organization filter then answers 404). */
export const idFilter = (description: string) => z.preprocess(malformedIdToNil, z.guid()).meta({ description });
