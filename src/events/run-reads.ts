// One read of a run's row for every subscriber that needs it at the same moment.
//
// runUpdated re-reads its run after events (coalesced), and the run feeds read the run behind
// each transition. With a thousand subscribers of one run, each would issue its own identical
// query for the same event; here they share one. Sharing must never hand a subscriber a row
// older than the event it reacts to: a transition is committed before it is published, so a
// read that STARTED after the subscriber heard the event sees it. A caller therefore passes
// when it heard its latest event (`heardAt`), and joins an in-flight read only if
// that read started later; otherwise it starts a new one (which later callers may join). A
// finished read is not kept: nothing here is a cache that could go stale.
//
// The shared read also returns the same Run object to all of them, which is what lets the
// subscription fan-out (src/http/subscription-fanout.ts) execute a runUpdated push once per
// group instead of once per subscriber.
import type { PrismaClient } from '../db/client.ts';
import type { Run } from '../generated/prisma/client.ts';

interface Read {
  startedAt: number;
  promise: Promise<Run | null>;
}

const readers = new WeakMap<PrismaClient, Map<string, Read>>();

/** A monotonic clock for `heardAt` (sub-millisecond, never goes back). */
export const now = () => performance.now();

const stamps = new WeakMap<object, number>();

/**
 * When this event object was first looked at here. The bus hands the same object to every
 * listener, and it was committed before it was published, so any moment at or after the first
 * look is a valid `heardAt` for every subscriber holding it — and a shared one lets them share reads.
 */
export function heardAt(event: object): number {
  let at = stamps.get(event);
  if (at === undefined) {
    at = now();
    stamps.set(event, at);
  }
  return at;
}

/** The run's row as it is after `heardAt`; concurrent callers share one query. */
export function readRunAfter(prisma: PrismaClient, runId: string, heardAt: number): Promise<Run | null> {
  let inFlight = readers.get(prisma);
  if (!inFlight) {
    inFlight = new Map();
    readers.set(prisma, inFlight);
  }
  const current = inFlight.get(runId);
  if (current && current.startedAt > heardAt) return current.promise;
  const reads = inFlight;
  const read: Read = { startedAt: now(), promise: prisma.run.findUnique({ where: { id: runId } }) };
  reads.set(runId, read);
  const forget = () => {
    if (reads.get(runId) === read) reads.delete(runId);
  };
  read.promise.then(forget, forget);
  return read.promise;
}
