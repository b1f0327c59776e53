// Ids at the bottom floor: global IDs ("Workflow:<uuid>", base64-encoded by the relay plugin),
// raw UUIDs and bigint keys. Imported by auth, HTTP routes and the schema alike, so it imports
// nothing of Weft's but its errors.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError } from './errors.ts';

/** The nil UUID: no row has it, so a lookup scoped to it finds nothing (used where a query must run but cannot match). */
export const NO_ID = '00000000-0000-0000-0000-000000000000';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Decodes a global ID of the expected type; a raw UUID is accepted as it is (it is what webhook
 * payloads, logs and the REST routes show). A malformed ID, an ID of another type and an ID
 * that cannot exist all get the same NOT_FOUND as an id that does not exist.
 */
export function parseGlobalId(globalId: string, typename: string): string {
  if (isUuid(globalId)) return globalId;
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
  try {
    return parseGlobalId(segment, typename);
  } catch {
    return null;
  }
}

/**
 * The unique lookup of a node that belongs to the caller's workspace. An id that is not a UUID
 * becomes NO_ID, so the lookup simply finds nothing (never a database error on a bad id).
 */
export function inWorkspace(id: string, ctx: { workspaceId: string }) {
  return { id: isUuid(id) ? id : NO_ID, workspaceId: ctx.workspaceId };
}

const MAX_BIGINT_ID = 2n ** 63n - 1n;

/** A bigint primary key from its text, or -1 (matches nothing) when it is not one. */
export function bigintId(id: string): bigint {
  if (!/^\d{1,19}$/.test(id)) return -1n;
  const value = BigInt(id);
  return value <= MAX_BIGINT_ID ? value : -1n;
}
