// The run feeds (runFeed, runsFeed, workflowRunsUpdated): each run transition once, with the
// status the transition reached (not the run's status when we get round to reading it: a run
// queued and started in the same millisecond is seen QUEUED, then RUNNING), filtered by status,
// workflow and preview; optionally preceded by a snapshot of the matching runs, and with a
// notice when a run is deleted.
//
// Order of work: listen to the bus FIRST, then read the snapshot, then drain what was heard.
// A transition that was already in the snapshot (its seq ≤ the run's lastEventSeq when read)
// is dropped, so a snapshot plus the live transitions never repeat or miss one.
import { Repeater } from '@repeaterjs/repeater';
import type { PrismaClient } from '../db/client.ts';
import { RUN_DELETED_NOTICE, type EventBus, type StoredEvent } from './log.ts';
import type { Run } from '../generated/prisma/client.ts';
import type { RunStatus } from '../generated/prisma/enums.ts';
import { inbox, slow } from './stream.ts';
import { FINISHED_RUN } from '../engine/statuses.ts';
import { heardAt, readRunAfter } from './run-reads.ts';

/** The status each run-level event takes a run to. */
export const STATUS_REACHED: Readonly<Record<string, RunStatus>> = {
  RUN_QUEUED: 'QUEUED',
  RUN_STARTED: 'RUNNING',
  RUN_RESUMED: 'RUNNING',
  RUN_PAUSED: 'PAUSED',
  RUN_COMPLETED: 'COMPLETED',
  RUN_FAILED: 'FAILED',
  RUN_CANCELLED: 'CANCELLED',
};
const FINISHED: ReadonlySet<RunStatus> = new Set(FINISHED_RUN);

export interface FeedFilter {
  statuses?: readonly RunStatus[] | null;
  workflowIds?: readonly string[] | null;
  includePreviews?: boolean | null;
}

export type FeedMessage =
  | { kind: 'SNAPSHOT' | 'TRANSITION'; runId: string; status: RunStatus; run: Run; seq: number; at: Date }
  | { kind: 'SNAPSHOT_END'; runId: null; status: null; run: null; seq: null; at: Date }
  | { kind: 'DELETED'; runId: string; status: RunStatus | null; run: null; seq: null; at: Date };

export interface FeedOptions {
  prisma: PrismaClient;
  bus: EventBus;
  workspaceId: string;
  filter?: FeedFilter | null;
  /** Send up to this many of the newest matching runs first, then SNAPSHOT_END (0: no snapshot). */
  snapshot?: number;
  maxBuffer?: number;
}

/**
 * The run as of a transition. Memoised per row object: subscribers that shared the read of the
 * row (readRunAfter) also share this object, so their runsFeed pushes are executed once.
 */
const asOf = new WeakMap<Run, Map<RunStatus, Run>>();
function runAt(run: Run, status: RunStatus): Run {
  let byStatus = asOf.get(run);
  if (!byStatus) {
    byStatus = new Map();
    asOf.set(run, byStatus);
  }
  let shaped = byStatus.get(status);
  if (!shaped) {
    shaped = { ...run, status };
    byStatus.set(status, shaped);
  }
  return shaped;
}

export function runFeed(opts: FeedOptions): Repeater<FeedMessage> {
  const statuses = opts.filter?.statuses?.length ? new Set(opts.filter.statuses) : null;
  const workflows = opts.filter?.workflowIds?.length ? new Set(opts.filter.workflowIds) : null;
  const previews = opts.filter?.includePreviews ?? true;
  const matches = (run: { workflowId: string | null; isPreview: boolean }, status: RunStatus | null) =>
    (previews || !run.isPreview) &&
    (!workflows || (run.workflowId !== null && workflows.has(run.workflowId))) &&
    (!statuses || (status !== null && statuses.has(status)));
  const maxBuffer = opts.maxBuffer ?? 10_000;

  return new Repeater<FeedMessage>(async (push, stop) => {
    const live = inbox<StoredEvent>(maxBuffer, stop);
    const unsubscribe = opts.bus.subscribeAll((event) => {
      if (event.workspaceId === opts.workspaceId && (STATUS_REACHED[event.type] || event.type === RUN_DELETED_NOTICE))
        live.push(event);
    });
    // Per unfinished run: the last seq and status delivered (or read in the snapshot), so each
    // transition goes out once. Finished and deleted runs are forgotten (no later transition
    // can repeat theirs: a resumed run is queued again, which is a new transition).
    const seen = new Map<string, { seq: number; status: RunStatus }>();
    try {
      if (opts.snapshot) {
        const runs = await opts.prisma.run.findMany({
          where: {
            workspaceId: opts.workspaceId,
            ...(previews ? {} : { isPreview: false }),
            ...(workflows ? { workflowId: { in: [...workflows] } } : {}),
            ...(statuses ? { status: { in: [...statuses] } } : {}),
          },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: opts.snapshot,
        });
        for (const run of runs) {
          seen.set(run.id, { seq: run.lastEventSeq, status: run.status });
          await push({
            kind: 'SNAPSHOT',
            runId: run.id,
            status: run.status,
            run,
            seq: run.lastEventSeq,
            at: run.updatedAt,
          });
        }
        await push({ kind: 'SNAPSHOT_END', runId: null, status: null, run: null, seq: null, at: new Date() });
      }
      while (!live.stopped) {
        if (live.overflow) throw slow(maxBuffer);
        const event = live.shift();
        if (!event) {
          await live.wait();
          continue;
        }
        if (event.type === RUN_DELETED_NOTICE) {
          seen.delete(event.runId);
          const data = (event.data ?? {}) as { workflowId?: string | null; isPreview?: boolean; status?: RunStatus };
          if (
            matches({ workflowId: data.workflowId ?? null, isPreview: data.isPreview ?? false }, data.status ?? null)
          ) {
            await push({
              kind: 'DELETED',
              runId: event.runId,
              status: data.status ?? null,
              run: null,
              seq: null,
              at: event.createdAt,
            });
          }
          continue;
        }
        const status = STATUS_REACHED[event.type]!;
        const before = seen.get(event.runId);
        if (before && (event.seq <= before.seq || before.status === status)) continue;
        if (FINISHED.has(status)) seen.delete(event.runId);
        else seen.set(event.runId, { seq: event.seq, status });
        const run = await readRunAfter(opts.prisma, event.runId, heardAt(event));
        if (!run || !matches(run, status)) continue;
        await push({
          kind: 'TRANSITION',
          runId: run.id,
          status,
          run: runAt(run, status),
          seq: event.seq,
          at: event.createdAt,
        });
      }
    } finally {
      unsubscribe();
      stop();
    }
  });
}
