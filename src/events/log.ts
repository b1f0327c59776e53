// The run event log. Every transition appends its events in the same transaction as the state
// change (so the log and the state never disagree), and only after the commit are they
// published to live listeners. Sequence numbers come from Run.lastEventSeq, incremented under
// the run's row lock, so they are gap-free and strictly ordered per run.
import type { Prisma } from '../generated/prisma/client.ts';

export const RUN_EVENT_TYPES = [
  'RUN_QUEUED',
  'RUN_STARTED',
  'RUN_PAUSED',
  'RUN_RESUMED',
  'RUN_COMPLETED',
  'RUN_FAILED',
  'RUN_CANCELLED',
  'STEP_STARTED',
  'STEP_LOG',
  'STEP_RETRYING',
  'STEP_WAITING',
  'STEP_COMPLETED',
  'STEP_FAILED',
  'STEP_SKIPPED',
  'STEP_CANCELLED',
  'RUN_CHECKS',
  'WEBHOOK_DELIVERED',
  'WEBHOOK_FAILED',
  'SIGNAL_DELIVERED',
  'SIGNAL_BUFFERED',
  'ATTACHMENT_CREATED',
] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

/**
 * Published on the bus (never stored: the run's log goes with it) when a run is deleted, so the
 * run feeds can tell their subscribers. seq 0 and data { workflowId, status, isPreview }.
 */
export const RUN_DELETED_NOTICE = 'RUN_DELETED';

export interface NewEvent {
  type: RunEventType;
  stepId?: string | null;
  iteration?: number | null;
  data?: Record<string, unknown> | null;
}

export interface StoredEvent {
  id: bigint;
  workspaceId: string;
  runId: string;
  seq: number;
  type: string;
  stepId: string | null;
  iteration: number | null;
  data: unknown;
  createdAt: Date;
}

type Tx = Prisma.TransactionClient;

/**
 * Appends events to a run inside the caller's transaction; returns them as stored. One
 * statement: the run's counter is advanced and the events inserted with the numbers it hands
 * out (the UPDATE takes the run's row lock, so numbers are gap-free and in commit order). The
 * statement has the same shape for any number of events, so its plan is prepared once.
 */
export async function appendEvents(
  tx: Tx,
  run: { id: string; workspaceId: string },
  events: NewEvent[],
): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const rows = await tx.$queryRaw<StoredEvent[]>`
    WITH counter AS (
      UPDATE "Run" SET "lastEventSeq" = "lastEventSeq" + ${events.length}::int
      WHERE id = ${run.id}::uuid
      RETURNING "lastEventSeq" - ${events.length}::int AS base
    )
    INSERT INTO "RunEvent" ("workspaceId", "runId", seq, type, "stepId", iteration, data, "createdAt")
    SELECT ${run.workspaceId}::uuid, ${run.id}::uuid, counter.base + e.ord::int, e.type, e.step_id, e.iteration, e.data::jsonb, now()
    FROM counter, unnest(${events.map((e) => e.type)}::text[], ${events.map((e) => e.stepId ?? null)}::text[], ${events.map((e) => e.iteration ?? null)}::int[], ${events.map((e) => (e.data == null ? null : JSON.stringify(e.data)))}::text[])
      WITH ORDINALITY AS e(type, step_id, iteration, data, ord)
    RETURNING id, "workspaceId"::text AS "workspaceId", "runId"::text AS "runId", seq, type, "stepId", iteration, data, "createdAt"`;
  return rows.sort((a, b) => a.seq - b.seq);
}

/** Where committed events go for live listeners (subscriptions). In-process for now. */
export interface EventBus {
  publish(events: StoredEvent[]): void;
  subscribe(runId: string, listener: (event: StoredEvent) => void): () => void;
  subscribeAll(listener: (event: StoredEvent) => void): () => void;
}

export function createMemoryEventBus(): EventBus {
  const byRun = new Map<string, Set<(event: StoredEvent) => void>>();
  const all = new Set<(event: StoredEvent) => void>();
  return {
    publish(events) {
      for (const event of events) {
        for (const listener of byRun.get(event.runId) ?? []) listener(event);
        for (const listener of all) listener(event);
      }
    },
    subscribe(runId, listener) {
      const set = byRun.get(runId) ?? new Set();
      set.add(listener);
      byRun.set(runId, set);
      return () => {
        set.delete(listener);
        if (set.size === 0) byRun.delete(runId);
      };
    },
    subscribeAll(listener) {
      all.add(listener);
      return () => void all.delete(listener);
    },
  };
}
