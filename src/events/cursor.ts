// The one cursor of a run's event log: the event's seq as a decimal string ("42"). RunEvent.seq,
// RunEvent.cursor, the edges of Run.events and the caught-up marker all hand it out, and every
// `after`/`before` argument takes it. Cursors of the earlier Run.events connection (opaque
// "GPC:…" base64 of the event's row id) are still accepted and translated to their seq, so a
// client that saved one keeps working; they are deprecated and no longer handed out.
import { decodeBase64, decodeCursorChunk } from '@pothos/core';
import type { PrismaClient } from '../db/client.ts';
import { ValidationError } from '../errors.ts';

const SEQ = /^\d{1,10}$/;
const MAX_ROW_ID = 2n ** 63n - 1n;
const MESSAGE = 'must be an event cursor: the seq of an event, e.g. "42" (RunEvent.seq or RunEvent.cursor)';

/** The cursor of the event with this seq. */
export const eventCursor = (seq: number): string => String(seq);

/** The row id inside a legacy connection cursor, or null when `value` is not one. */
function legacyRowId(value: string): bigint | null {
  try {
    const decoded = decodeBase64(value);
    if (!decoded.startsWith('GPC:')) return null;
    const id = decodeCursorChunk(decoded.slice(4));
    if (typeof id !== 'bigint' && typeof id !== 'number') return null;
    const rowId = BigInt(id);
    // RunEvent.id is a bigint column: anything outside it is no event's cursor (and would fail in SQL).
    return rowId >= 0n && rowId <= MAX_ROW_ID ? rowId : null;
  } catch {
    return null;
  }
}

/**
 * The seq a cursor designates in a run's log (0 for none). `path` is where the argument sits,
 * for the VALIDATION_FAILED error a malformed cursor (or another run's legacy cursor) gets.
 */
export async function resolveEventCursor(
  prisma: PrismaClient,
  runId: string,
  value: string | null | undefined,
  path: (string | number)[],
): Promise<number> {
  if (value == null || value === '') return 0;
  if (SEQ.test(value)) {
    // RunEvent.seq is a 32-bit integer: a larger number is no event's cursor (and would fail in SQL).
    if (Number(value) > 2_147_483_647) throw ValidationError.single(path, MESSAGE);
    return Number(value);
  }
  const id = legacyRowId(value);
  if (id === null) throw ValidationError.single(path, MESSAGE);
  const event = await prisma.runEvent.findFirst({ where: { id, runId }, select: { seq: true } });
  if (!event) throw ValidationError.single(path, `${MESSAGE}; this connection cursor is not an event of the run`);
  return event.seq;
}
