// Starting QUEUED runs in FIFO order within the concurrency limits: the global limit
// (WEFT_MAX_CONCURRENT_RUNS), a workflow's maxConcurrentRuns, and its concurrency-key limit.
// One transaction-scoped advisory lock makes the check-and-start atomic across every process
// sharing the database, so limits hold however many workers there are.
import type { PrismaClient } from '../db/client.ts';
import type { StoredEvent } from '../events/log.ts';
import { STARTED_RUN } from './statuses.ts';
import { startRun } from './transitions.ts';

export interface RunLimits {
  maxConcurrentRuns: number;
}

const STARTER_LOCK = 727_001;
const BATCH = 200;

interface ConcurrencySetting {
  limit?: number;
}

export async function startQueuedRuns(
  prisma: PrismaClient,
  limits: RunLimits,
  now: Date,
): Promise<{ runIds: string[]; events: StoredEvent[] }> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${STARTER_LOCK})`;
    const running = await tx.run.count({ where: { status: 'RUNNING' } });
    let free = limits.maxConcurrentRuns - running;
    if (free <= 0) return { runIds: [], events: [] };
    const queued = await tx.run.findMany({
      where: { status: 'QUEUED' },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: BATCH,
      select: {
        id: true,
        workspaceId: true,
        workflowId: true,
        concurrencyKey: true,
        definition: true,
        startedAt: true,
        scheduleId: true,
        workflow: { select: { maxConcurrentRuns: true, concurrency: true } },
        schedule: { select: { overlap: true } },
      },
    });
    if (queued.length === 0) return { runIds: [], events: [] };

    const workflowIds = [...new Set(queued.map((r) => r.workflowId).filter((id): id is string => !!id))];
    const active = await tx.run.groupBy({
      by: ['workflowId', 'concurrencyKey'],
      where: { status: 'RUNNING', workflowId: { in: workflowIds } },
      _count: { _all: true },
    });
    const perWorkflow = new Map<string, number>();
    const perKey = new Map<string, number>();
    for (const row of active) {
      perWorkflow.set(row.workflowId!, (perWorkflow.get(row.workflowId!) ?? 0) + row._count._all);
      if (row.concurrencyKey !== null) perKey.set(`${row.workflowId}\u0000${row.concurrencyKey}`, row._count._all);
    }

    // A schedule with overlap BUFFER_ONE keeps its next run QUEUED while the previous one runs.
    const bufferedSchedules = [
      ...new Set(queued.filter((r) => r.schedule?.overlap === 'BUFFER_ONE').map((r) => r.scheduleId!)),
    ];
    const busySchedules = new Set(
      bufferedSchedules.length
        ? (
            await tx.run.findMany({
              where: { scheduleId: { in: bufferedSchedules }, status: { in: [...STARTED_RUN] } },
              select: { scheduleId: true },
            })
          ).map((r) => r.scheduleId!)
        : [],
    );

    const runIds: string[] = [];
    const events: StoredEvent[] = [];
    for (const run of queued) {
      if (free <= 0) break;
      const wf = run.workflow;
      const keyId = `${run.workflowId}\u0000${run.concurrencyKey}`;
      if (wf?.maxConcurrentRuns && (perWorkflow.get(run.workflowId!) ?? 0) >= wf.maxConcurrentRuns) continue;
      const keyLimit = (wf?.concurrency as ConcurrencySetting | null)?.limit;
      if (run.concurrencyKey !== null && keyLimit && (perKey.get(keyId) ?? 0) >= keyLimit) continue;
      if (run.scheduleId && run.schedule?.overlap === 'BUFFER_ONE' && busySchedules.has(run.scheduleId)) continue;

      events.push(...(await startRun(tx, run, now)));
      runIds.push(run.id);
      free--;
      if (run.workflowId) perWorkflow.set(run.workflowId, (perWorkflow.get(run.workflowId) ?? 0) + 1);
      if (run.concurrencyKey !== null) perKey.set(keyId, (perKey.get(keyId) ?? 0) + 1);
      if (run.scheduleId) busySchedules.add(run.scheduleId);
    }
    return { runIds, events };
  });
}
