// Page-size and search-length limits of the connections: the Pothos builder reads the sizes,
// resolvers call the checks before they query.
import { ValidationError } from '../errors.ts';

/** The largest page any connection returns; asking for more is a VALIDATION_FAILED error. */
export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 20;

/** Connections refuse pages larger than MAX_PAGE_SIZE instead of silently truncating them. */
export function checkPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const key of ['first', 'last'] as const) {
    const value = args[key];
    if (value == null) continue;
    if (value < 0) throw ValidationError.single([key], 'must not be negative');
    if (value > MAX_PAGE_SIZE)
      throw ValidationError.single(
        [key],
        `must be at most ${MAX_PAGE_SIZE} (got ${value}); page through results with "after"`,
      );
  }
}

/** Longest text a search argument takes: longer ones are surely not a search (and cost a scan). */
export const MAX_SEARCH_LENGTH = 200;

export function checkSearch(value: string | null | undefined, path: string[]): void {
  if (value != null && value.length > MAX_SEARCH_LENGTH)
    throw ValidationError.single(path, `must be at most ${MAX_SEARCH_LENGTH} characters (got ${value.length})`);
}
