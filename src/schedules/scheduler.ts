// Fires due schedules exactly once, however many Weft processes share the database and across
// restarts. Each process ticks every second; for every due fire time:
//
// 1. A ScheduleTick row is inserted with ON CONFLICT DO NOTHING on (scheduleId, scheduledFor):
//    the one process whose insert lands owns that fire; everyone else moves on.
// 2. The owner applies the overlap policy, then starts the run with the idempotency key
//    "schedule:<id>:<fire time>" — so if it dies between the tick and the run, the recovery sweep
//    (ticks FIRED without a run) starts the run later without ever creating two.
// 3. nextRunAt is advanced with a compare-and-set, so two processes never skip or repeat one.
//
// Fire times that are late (Weft was down) follow the schedule's catch-up policy: NONE skips
// them, LAST fires only the most recent one, ALL fires those within catchUpWindowSeconds.
import type { PrismaClient } from '../db/client.ts';
import type { EventBus } from '../events/log.ts';
import { coerceError, ConflictError, WeftError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { cancelRun, runWorkflow } from '../runs/service.ts';
import { SYSTEM_ACTOR, type EngineHandle, type ServiceScope } from '../scope.ts';
import { fireTimesBetween } from './cron.ts';
import { firstFireAfter } from './service.ts';
import type { ScheduleObserver } from '../observability/schedule-observer.ts';
import { ACTIVE_RUN } from '../engine/statuses.ts';

export interface SchedulerOptions {
  prisma: PrismaClient;
  log: Logger;
  engine: EngineHandle;
  bus: EventBus;
  secretsKey: Buffer | null;
  intervalMs: number;
  /** A fire time older than this when handled counts as missed (catch-up policy applies). */
  lateAfterMs?: number;
  now?: () => Date;
  /** Metrics and spans of fires (src/observability/schedule-observer.ts). */
  observer?: ScheduleObserver;
}

const MAX_FIRES_PER_TICK = 1000;
const MAX_SKIPPED_TICKS_RECORDED = 100;
const RECOVERY_AGE_MS = 30_000;

type ScheduleRow = Awaited<ReturnType<PrismaClient['schedule']['findMany']>>[number];

export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly opts: SchedulerOptions) {}

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tickSafely(), this.opts.intervalMs);
    void this.tickSafely();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async tickSafely(): Promise<void> {
    if (this.running) return;
    this.running = this.tick()
      .catch((error) => this.opts.log.error({ err: error }, 'scheduler tick failed'))
      .finally(() => (this.running = null));
    await this.running;
  }

  /** One pass: recover interrupted fires, then fire everything due. Tests call it directly with a fake clock. */
  async tick(): Promise<void> {
    const now = this.now();
    await this.recover(now);
    const due = await this.opts.prisma.schedule.findMany({
      where: { enabled: true, nextRunAt: { lte: now } },
      orderBy: { nextRunAt: 'asc' },
      take: 100,
    });
    for (const schedule of due) await this.process(schedule, now);
  }

  private scope(workspaceId: string): ServiceScope {
    const { prisma, engine, bus, secretsKey } = this.opts;
    return { prisma, workspaceId, actor: SYSTEM_ACTOR, engine, bus, secretsKey };
  }

  private async process(schedule: ScheduleRow, now: Date): Promise<void> {
    const first = schedule.nextRunAt!;
    const times = [
      first,
      ...fireTimesBetween(schedule.cronExpression, schedule.timezone, first, now, MAX_FIRES_PER_TICK - 1),
    ];
    const lateAfter = this.opts.lateAfterMs ?? Math.max(60_000, 3 * this.opts.intervalMs);
    const late = times.filter((t) => now.getTime() - t.getTime() > lateAfter);
    const onTime = times.filter((t) => now.getTime() - t.getTime() <= lateAfter);
    const window = schedule.catchUpWindowSeconds * 1000;
    const fire: Date[] = [...onTime];
    const skip: { at: Date; reason: string }[] = [];
    for (const [i, at] of late.entries()) {
      const keep =
        schedule.catchUp === 'ALL'
          ? now.getTime() - at.getTime() <= window
          : schedule.catchUp === 'LAST'
            ? i === late.length - 1
            : false;
      if (keep) fire.push(at);
      else
        skip.push({
          at,
          reason:
            schedule.catchUp === 'ALL'
              ? `missed while Weft was not running; older than the catch-up window (${schedule.catchUpWindowSeconds} s)`
              : `missed while Weft was not running (catch-up ${schedule.catchUp})`,
        });
    }
    fire.sort((a, b) => a.getTime() - b.getTime());

    if (skip.length) {
      const recorded = await this.opts.prisma.scheduleTick.createMany({
        data: skip.slice(-MAX_SKIPPED_TICKS_RECORDED).map((s) => ({
          workspaceId: schedule.workspaceId,
          scheduleId: schedule.id,
          scheduledFor: s.at,
          status: 'SKIPPED' as const,
          reason: s.reason,
        })),
        skipDuplicates: true,
      });
      this.opts.observer?.skipped(recorded.count, 'missed'); // only those this process recorded first
    }
    for (const at of fire)
      await (this.opts.observer
        ? this.opts.observer.within(schedule.id, at, () => this.fire(schedule, at))
        : this.fire(schedule, at));

    // Advance with compare-and-set: if another process already moved it, leave theirs.
    const next = firstFireAfter(schedule.cronExpression, schedule.timezone, now);
    await this.opts.prisma.schedule.updateMany({
      where: { id: schedule.id, nextRunAt: first },
      data: { nextRunAt: next },
    });
  }

  private async fire(schedule: ScheduleRow, at: Date): Promise<void> {
    const claimed = await this.opts.prisma.scheduleTick.createMany({
      data: [{ workspaceId: schedule.workspaceId, scheduleId: schedule.id, scheduledFor: at, status: 'FIRED' }],
      skipDuplicates: true,
    });
    if (claimed.count === 0) return; // another process owns this fire
    const tickWhere = { scheduleId_scheduledFor: { scheduleId: schedule.id, scheduledFor: at } };

    const active = await this.opts.prisma.run.findMany({
      where: { scheduleId: schedule.id, status: { in: [...ACTIVE_RUN] } },
      select: { id: true, status: true },
      orderBy: { createdAt: 'asc' },
    });
    if (active.length) {
      const skipReason =
        schedule.overlap === 'SKIP'
          ? `skipped: the previous run is still ${active[0]!.status} (overlap SKIP)`
          : schedule.overlap === 'BUFFER_ONE' && active.some((r) => r.status === 'QUEUED')
            ? 'skipped: one run is already buffered (overlap BUFFER_ONE)'
            : null;
      if (skipReason) {
        this.opts.observer?.skipped(1, 'overlap');
        await this.opts.prisma.scheduleTick.update({
          where: tickWhere,
          data: { status: 'SKIPPED', reason: skipReason },
        });
        return;
      }
      if (schedule.overlap === 'CANCEL_OTHER') {
        for (const run of active)
          await cancelRun(this.scope(schedule.workspaceId), run.id).catch((error) =>
            error instanceof ConflictError ? undefined : Promise.reject(error),
          );
      }
    }
    await this.startRun(schedule, at, tickWhere);
  }

  private async startRun(
    schedule: Pick<ScheduleRow, 'id' | 'workspaceId' | 'workflowId' | 'inputData'>,
    at: Date,
    tickWhere: { scheduleId_scheduledFor: { scheduleId: string; scheduledFor: Date } },
  ) {
    try {
      const run = await runWorkflow(this.scope(schedule.workspaceId), {
        workflowId: schedule.workflowId,
        input: schedule.inputData,
        trigger: 'SCHEDULE',
        scheduleId: schedule.id,
        idempotencyKey: `schedule:${schedule.id}:${at.toISOString()}`,
      });
      this.opts.observer?.fired(at, this.now(), this.opts.lateAfterMs ?? Math.max(60_000, 3 * this.opts.intervalMs));
      await this.opts.prisma.scheduleTick.update({ where: tickWhere, data: { runId: run.id } });
      await this.opts.prisma.schedule.update({
        where: { id: schedule.id },
        data: { lastRunAt: at, lastRunId: run.id },
      });
    } catch (error) {
      const reason =
        error instanceof WeftError
          ? `${error.code}: ${error.message}`
          : `could not start the run: ${coerceError(error).message}`;
      if (!(error instanceof WeftError))
        this.opts.log.error({ err: error, scheduleId: schedule.id }, 'schedule fire failed');
      await this.opts.prisma.scheduleTick.update({ where: tickWhere, data: { status: 'FAILED', reason } });
    }
  }

  /** Fires whose process died between the tick and the run: start the run (idempotently). */
  private async recover(now: Date): Promise<void> {
    const orphans = await this.opts.prisma.scheduleTick.findMany({
      where: { status: 'FIRED', runId: null, createdAt: { lt: new Date(now.getTime() - RECOVERY_AGE_MS) } },
      include: { schedule: { select: { id: true, workspaceId: true, workflowId: true, inputData: true } } },
      take: 100,
    });
    for (const tick of orphans) {
      await this.startRun(tick.schedule, tick.scheduledFor, {
        scheduleId_scheduledFor: { scheduleId: tick.scheduleId, scheduledFor: tick.scheduledFor },
      });
    }
  }
}
