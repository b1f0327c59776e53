// Global IDs ("Workflow:<uuid>", base64-encoded by the relay plugin) and page-size checks.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError, ValidationError } from '../errors.ts';
import { MAX_PAGE_SIZE } from './builder.ts';

/** The nil UUID: no row has it, so a lookup scoped to it finds nothing (used where a query must run but cannot match). */
export const NO_ID = '00000000-0000-0000-0000-000000000000';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Decodes a global ID of the expected type. A malformed ID, an ID of another type and an ID
 * that cannot exist all get the same NOT_FOUND as an id that does not exist.
 */
export function parseGlobalId(globalId: string, typename: string): string {
  try {
    const decoded = decodeGlobalID(globalId);
    if (decoded.typename === typename && isUuid(decoded.id)) return decoded.id;
  } catch {
    // fall through: not a global ID at all
  }
  throw new NotFoundError(typename, globalId);
}

/** An id in a URL: a raw UUID or a global ID of `typename`; null when it is neither. */
export function idFromPathSegment(segment: string, typename: string): string | null {
  if (isUuid(segment)) return segment;
  try {
    return parseGlobalId(segment, typename);
  } catch {
    return null;
  }
}

/** Connections refuse pages larger than MAX_PAGE_SIZE instead of silently truncating them. */
export function checkPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const key of ['first', 'last'] as const) {
    const value = args[key];
    if (value == null) continue;
    if (value < 0) throw ValidationError.single([key], 'must not be negative');
    if (value > MAX_PAGE_SIZE) throw ValidationError.single([key], `must be at most ${MAX_PAGE_SIZE} (got ${value}); page through results with "after"`);
  }
}

/** Longest text a search argument takes: longer ones are surely not a search (and cost a scan). */
export const MAX_SEARCH_LENGTH = 200;

export function checkSearch(value: string | null | undefined, path: string[]): void {
  if (value != null && value.length > MAX_SEARCH_LENGTH) throw ValidationError.single(path, `must be at most ${MAX_SEARCH_LENGTH} characters (got ${value.length})`);
}
