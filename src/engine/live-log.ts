// Live step logs: the lines a script step writes (its stdout/stderr, as LineLogger cuts them)
// are stored and published while the step runs, not only when it ends. Lines are batched:
// every `flushMs` the pending ones are appended to StepRun.logs and published as one STEP_LOG
// event (data.live = true), at most `maxLinesPerFlush` per batch — the rest waits for the next
// tick — so a chatty script costs at most one small transaction per interval and a bounded
// number of lines per second. What is still pending when the step ends goes out with its
// completion, as before (a STEP_LOG without `live`), so every line is stored exactly once, in order.
//
// A batch is written only while this worker still holds the attempt (RUNNING, same attempt, our
// lease): lines of an attempt that was cancelled or reclaimed meanwhile are dropped, as its
// result would be.
import type { PrismaClient } from '../db/client.ts';
import type { StepClaim } from './run-state.ts';
import { appendEvents, type EventBus } from '../events/log.ts';

/**
 * Step types whose lines are streamed while they run: scripts (long, chatty, and what a user
 * wants to tail). Other steps log a line or two around one request; theirs go with the result.
 */
export const LIVE_LOG_STEP_TYPES: ReadonlySet<string> = new Set(['script']);

export interface LiveLogOptions {
  prisma: PrismaClient;
  bus: EventBus;
  claim: StepClaim;
  workerId: string;
  flushMs: number;
  maxLinesPerFlush?: number;
  onError: (error: unknown) => void;
}

export interface LiveLog {
  log(line: string): void;
  /** Stops flushing, waits for a batch in flight, and returns the lines not written yet. */
  close(): Promise<string[]>;
}

export function createLiveLog(opts: LiveLogOptions): LiveLog {
  const maxLines = opts.maxLinesPerFlush ?? 200;
  const { claim } = opts;
  let pending: string[] = [];
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  const write = async (lines: string[]) => {
    const redacted = lines.map((line) => claim.redact(line));
    const events = await opts.prisma.$transaction(async (tx) => {
      // The run's row first, as every other writer of a run (advance, cancelRun) locks it:
      // taking the step's row first could deadlock with a cancel.
      await tx.$queryRaw`SELECT 1 FROM "Run" WHERE id = ${claim.runId}::uuid FOR UPDATE`;
      const held = await tx.$executeRaw`
        UPDATE "StepRun" SET logs = logs || ${`${redacted.join('\n')}\n`}
        WHERE id = ${claim.stepRunId}::uuid AND status = 'RUNNING' AND attempt = ${claim.attempt} AND "leaseOwner" = ${opts.workerId}`;
      if (held === 0) return [];
      return appendEvents(tx, { id: claim.runId, workspaceId: claim.workspaceId }, [
        { type: 'STEP_LOG', stepId: claim.stepId, data: { lines: redacted, attempt: claim.attempt, live: true } },
      ]);
    });
    opts.bus.publish(events);
  };

  const timer = !LIVE_LOG_STEP_TYPES.has(claim.type)
    ? undefined
    : setInterval(() => {
        if (pending.length === 0 || closed) return;
        const batch = pending.slice(0, maxLines);
        pending = pending.slice(batch.length);
        // Chained, so batches are written in order and close() can wait for the last one.
        // A batch that could not be written goes back to the front: the step's result keeps it.
        writing = writing
          .then(() => write(batch))
          .catch((error: unknown) => {
            pending = [...batch, ...pending];
            opts.onError(error);
          });
      }, opts.flushMs);

  return {
    log(line) {
      pending.push(line);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await writing;
      const rest = pending;
      pending = [];
      return rest;
    },
  };
}
