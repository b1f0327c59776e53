// The engine: starts queued runs within the concurrency limits, executes claimed steps,
// wakes waits and retries, and reclaims steps whose worker died. All decisions are made by
// advanceRun inside a transaction; this class only moves work between the database and the
// step handlers. How claims and wake-ups reach a worker is the dispatcher's business
// (dispatch/in-process.ts for the embedded database, dispatch/graphile.ts for PostgreSQL).
//
// Ordering guarantees: a transition is committed before its events are published and before
// any outside effect (dispatching a step, sending a webhook) happens; with graphile-worker the
// job is committed in the same transaction as the claim. If the process dies at any point, the
// tables say what is left to do: RUNNING steps with an expired lease are reclaimed and retried,
// due waits and retries are woken by the poller (and by their jobs), QUEUED runs start.
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from '../logger.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { PrismaClient } from '../db/client.ts';
import { advanceRun, type RunChange } from './advance.ts';
import type { AdvanceResult, StepClaim, StepOutcome } from './run-state.ts';
import { takeDispatchedClaim } from './claim.ts';
import type { EventBus } from '../events/log.ts';
import { deliverCompletionWebhook } from './completion-webhook.ts';
import type { DispatchHost, Dispatcher } from './dispatch/types.ts';
import { runLoop } from './loop.ts';
import { retrying } from './db-retry.ts';
import { createLiveLog } from './live-log.ts';
import { startQueuedRuns, type RunLimits } from './queue.ts';
import { timeoutMsOf } from './retry.ts';
import { SLEEPING_STEP, TOP_LEVEL } from './statuses.ts';
import { stepHandlers } from './steps/registry.ts';
import { fanOutSignal } from './signals.ts';
import { NonRetriableError, type StepContext, type StepEnvironment } from './steps/types.ts';
import type { FileStorage } from '../files/service.ts';
import { stepFiles } from '../files/step-files.ts';
import { judgeLeftoverChecks, judgePendingChecks } from '../checks/judge.ts';
import { declaresFiles, exportDeclaredFiles } from '../files/declared-exports.ts';
import { coerceError } from '../errors.ts';
import type { EngineObserver } from '../observability/engine-observer.ts';
import { findAgents, type AgentSettings } from '../agents/service.ts';

export interface EngineOptions {
  prisma: PrismaClient;
  log: Logger;
  bus: EventBus;
  /** Identifies this process in step leases. */
  workerId: string;
  limits: RunLimits;
  /** Steps this process executes at once. */
  workerConcurrency: number;
  pollIntervalMs: number;
  /** A RUNNING step whose lease is not renewed within this time is reclaimed. */
  leaseMs: number;
  /** True when no other process can use the database (the embedded one): reclaim at once on start. */
  exclusive: boolean;
  stepEnv: StepEnvironment;
  /** Decrypts workspace secrets referenced as {{ secrets.NAME }}; null when not configured. */
  secretsKey: Buffer | null;
  /** Lines a running step writes are stored and published in batches this often (live step logs). */
  stepLogFlushMs?: number;
  dispatcher: Dispatcher;
  /**
   * False for the API role (`weft serve`): no poller, no step execution; a nudge asks a worker
   * (through the dispatcher) to start queued runs instead.
   */
  runsWork: boolean;
  now?: () => Date;
  /** Metrics, spans and the log scope (src/observability); absent: nothing is observed. */
  observer?: EngineObserver;
  /** The server's public origin, for wait-token URLs (known once the server listens). */
  publicUrl?: () => string;
  /** Input files and attachments of steps; absent: steps have no files. */
  files?: FileStorage;
  /**
   * State-machine transactions (advance, take-over) this process runs at once. Fewer than its
   * database connections: under saturation the rest wait here, in order, instead of each holding
   * out for a pooled connection until Prisma gives up (2 s) and the step's result is lost to a
   * lease expiry — and lease renewals and API reads keep a connection. Default: unlimited.
   */
  maxTransactions?: number;
}

/** How long a state-machine transaction may wait for a pooled connection once it is let through. */
const TRANSACTION_MAX_WAIT_MS = 10_000;

const SIGNAL_MAINTENANCE_MS = 5000;

interface InFlight {
  runId: string;
  controller: AbortController;
  done: Promise<void>;
}

export class Engine implements DispatchHost {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly background = new Set<Promise<unknown>>();
  private pollTimer: NodeJS.Timeout | null = null;
  private ticking = false;
  private tickAgain = false;
  private stopped = true;
  private nextSignalMaintenance = 0;
  private nextSweep = 0;

  private readonly transactionSlots: LimitFunction;

  constructor(private readonly opts: EngineOptions) {
    this.transactionSlots = pLimit(opts.maxTransactions ?? Number.POSITIVE_INFINITY);
  }

  /** One state-machine transaction, retried when PostgreSQL says it may be, within this process's transaction slots. */
  private transaction<T>(work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.transactionSlots(() =>
      retrying(() => this.opts.prisma.$transaction(work, { maxWait: TRANSACTION_MAX_WAIT_MS })),
    );
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  isStopped(): boolean {
    return this.stopped;
  }

  get dispatchKind(): Dispatcher['kind'] {
    return this.opts.dispatcher.kind;
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    if (!this.opts.runsWork) return;
    await this.opts.dispatcher.start(this);
    if (this.opts.exclusive) {
      // Nobody else can hold a lease on this database: whatever is RUNNING was interrupted.
      await this.reclaim({ onlyExpired: false, reason: 'interrupted by a restart' });
    }
    this.pollTimer = setInterval(() => this.notify(), this.opts.pollIntervalMs);
    this.notify();
    this.track(
      judgeLeftoverChecks({
        prisma: this.opts.prisma,
        bus: this.opts.bus,
        env: this.opts.stepEnv,
        agentsFor: (workspaceId) => agentResolver(this.opts.prisma, workspaceId),
      }),
    );
  }

  /** Something changed (a run was queued, a slot freed): look for work soon. */
  notify(): void {
    if (this.stopped) return;
    this.track(this.opts.runsWork ? this.tick() : this.opts.dispatcher.requestStart());
  }

  /** One maintenance pass now (a worker's job asks for it); resolves when it is done. */
  async maintain(): Promise<void> {
    if (!this.stopped) await this.tick();
  }

  /** Aborts this process's in-flight work of a run (after cancelRun committed). */
  abortRun(runId: string): void {
    for (const entry of this.inFlight.values())
      if (entry.runId === runId) entry.controller.abort(new Error('Run was cancelled'));
  }

  /** Applies a change to a run and acts on the result (publish, dispatch, timers). */
  advance(runId: string, change: RunChange): Promise<AdvanceResult> {
    return this.opts.observer
      ? this.opts.observer.withinRun(runId, () => this.advanceNow(runId, change))
      : this.advanceNow(runId, change);
  }

  private async advanceNow(runId: string, change: RunChange): Promise<AdvanceResult> {
    const { dispatcher } = this.opts;
    const result = await this.transaction(async (tx) => {
      const advanced = await advanceRun(tx, runId, change, {
        workerId: this.opts.workerId,
        leaseMs: this.opts.leaseMs,
        capacity: dispatcher.capacity(this.inFlight.size),
        localSlots: dispatcher.localSlots(this.inFlight.size),
        now: this.now(),
        secretsKey: this.opts.secretsKey,
        publicUrl: this.opts.publicUrl?.(),
      });
      await dispatcher.persist(tx, advanced);
      return advanced;
    });
    this.opts.bus.publish(result.events);
    dispatcher.afterCommit(runId, result);
    this.opts.observer?.advanced(change, result);
    if (result.finished) {
      this.notify(); // a concurrency slot is free
      this.track(
        deliverCompletionWebhook(
          this.opts.prisma,
          this.opts.bus,
          result.finished,
          this.opts.log,
          this.opts.stepEnv.fetch,
          this.opts.secretsKey,
        ),
      );
      // check_prompt checks were recorded PENDING: a model judges them now, outside any transaction.
      if (result.finished.pendingChecks)
        this.track(
          judgePendingChecks(
            {
              prisma: this.opts.prisma,
              bus: this.opts.bus,
              env: this.opts.stepEnv,
              agents: agentResolver(this.opts.prisma, result.finished.workspaceId),
            },
            result.finished.runId,
          ),
        );
    }
    return result;
  }

  private track(promise: Promise<unknown>): void {
    const tracked = promise.catch((error) => this.opts.log.error({ err: error }, 'engine task failed'));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  private async tick(): Promise<void> {
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      do {
        this.tickAgain = false;
        // Most ticks are nudges (a run was queued, a run finished and freed a slot): they only need
        // to start queued runs. The sweeps for lost work run at most once per poll interval.
        const sweep = performance.now() >= this.nextSweep;
        if (sweep) {
          // Half an interval: the poll timer's own ticks (every interval) always sweep.
          this.nextSweep = performance.now() + this.opts.pollIntervalMs / 2;
          await this.reclaim({ onlyExpired: true, reason: 'lease expired (worker stopped responding)' });
          await this.wakeDue();
          await this.signalMaintenance();
        }
        const started = await retrying(() => startQueuedRuns(this.opts.prisma, this.opts.limits, this.now()));
        this.opts.bus.publish(started.events);
        this.opts.observer?.runsStarted(started.runIds);
        // Claim the first steps of the started runs concurrently: their dispatch latency would
        // otherwise grow with their position in the batch.
        await Promise.all(started.runIds.map((runId) => this.advance(runId, { kind: 'none' })));
        if (sweep && this.inFlight.size < this.opts.workerConcurrency) await this.sweepStalled();
      } while (this.tickAgain && !this.stopped);
    } finally {
      this.ticking = false;
    }
  }

  private async reclaim({ onlyExpired, reason }: { onlyExpired: boolean; reason: string }): Promise<void> {
    const rows = await this.opts.prisma.stepRun.findMany({
      where: {
        status: 'RUNNING',
        iteration: TOP_LEVEL,
        ...(onlyExpired ? { leaseExpiresAt: { lt: this.now() } } : { NOT: { leaseOwner: this.opts.workerId } }),
      },
      select: { id: true, runId: true },
      take: 500,
    });
    for (const [runId, ids] of groupByRun(rows)) {
      this.opts.log.warn({ runId, steps: ids.length, reason }, 'reclaiming interrupted steps');
      await this.advance(runId, { kind: 'reclaim', stepRunIds: ids, reason });
    }
    if (!onlyExpired) return;
    const dead = await this.opts.dispatcher.leasesOfDeadWorkers();
    for (const [runId, ids] of groupByRun(dead)) {
      this.opts.log.warn({ runId, steps: ids.length }, 'reclaiming steps of a worker that died');
      // Every live worker sees the same dead lease at about the same time: only the first
      // takeover counts (the others find a newer attempt and leave it alone).
      const attempts = Object.fromEntries(dead.filter((d) => d.runId === runId).map((d) => [d.id, d.attempt]));
      await this.advance(runId, {
        kind: 'reclaim',
        stepRunIds: ids,
        reason: 'worker died (its liveness lock was released)',
        attempts,
      });
    }
    const orphans = await this.opts.dispatcher.orphanedClaims(this.now(), this.opts.leaseMs);
    for (const [runId, ids] of groupByRun(orphans)) {
      this.opts.log.warn({ runId, steps: ids.length }, 'reclaiming steps whose job was lost');
      await this.advance(runId, {
        kind: 'reclaim',
        stepRunIds: ids,
        reason: 'lease expired (the worker that took the job stopped before starting it)',
      });
    }
  }

  /**
   * At most every few seconds: forget expired signals, and offer again the workspace events whose
   * fan-out a crash interrupted (sendEvent marks them when it is done).
   */
  private async signalMaintenance(): Promise<void> {
    const now = this.now();
    if (now.getTime() < this.nextSignalMaintenance) return;
    this.nextSignalMaintenance = now.getTime() + SIGNAL_MAINTENANCE_MS;
    await this.opts.prisma.signal.deleteMany({ where: { expiresAt: { lt: now } } });
    const stranded = await this.opts.prisma.signal.findMany({
      where: { runId: null, fannedOutAt: null, createdAt: { lt: new Date(now.getTime() - SIGNAL_MAINTENANCE_MS) } },
      select: { id: true, workspaceId: true },
      take: 20,
    });
    for (const signal of stranded)
      await fanOutSignal(this.opts.prisma, (runId, change) => this.advance(runId, change), signal);
  }

  private async wakeDue(): Promise<void> {
    const rows = await this.opts.prisma.stepRun.findMany({
      where: { status: { in: [...SLEEPING_STEP] }, iteration: TOP_LEVEL, wakeAt: { lte: this.now() } },
      select: { id: true, runId: true },
      take: 500,
    });
    for (const [runId, ids] of groupByRun(rows)) await this.advance(runId, { kind: 'wake', stepRunIds: ids });
  }

  /** RUNNING runs with nothing in progress: their next steps were not claimed (no capacity then, or a crash between commit and dispatch). */
  private async sweepStalled(): Promise<void> {
    const rows = await this.opts.prisma.$queryRaw<{ id: string }[]>`
      SELECT r.id::text AS id FROM "Run" r
      WHERE r.status = 'RUNNING'
        AND NOT EXISTS (SELECT 1 FROM "StepRun" s WHERE s."runId" = r.id AND s.status IN ('RUNNING', 'WAITING', 'RETRYING'))
      ORDER BY r."createdAt" LIMIT 50`;
    for (const row of rows) {
      if (this.inFlight.size >= this.opts.workerConcurrency) return;
      await this.advance(row.id, { kind: 'none' });
    }
  }

  /** A job asks to execute an attempt: take it over (or find it stale) and execute it here. */
  async runDispatched(runId: string, stepRunId: string, attempt: number): Promise<void> {
    if (this.stopped) throw new Error('worker is shutting down'); // graphile retries the job elsewhere
    const claim = await this.transaction((tx) =>
      takeDispatchedClaim(tx, runId, stepRunId, attempt, {
        workerId: this.opts.workerId,
        leaseMs: this.opts.leaseMs,
        now: this.now(),
        secretsKey: this.opts.secretsKey,
        publicUrl: this.opts.publicUrl?.(),
      }),
    );
    if (claim) await this.execute(claim);
  }

  execute(claim: StepClaim): Promise<void> {
    const controller = new AbortController();
    const observed = this.opts.observer?.stepStarted(claim);
    // The whole attempt, recording its result included, runs in the attempt's log and trace scope.
    const attempt = () =>
      this.run(claim, controller)
        .then((result) => {
          observed?.finished(result.outcome);
          // Work aborted by a shutdown is handed back, not counted as a failed attempt.
          return this.stopped && controller.signal.aborted
            ? this.advance(claim.runId, { kind: 'reclaim', stepRunIds: [claim.stepRunId], reason: 'worker shut down' })
            : this.advance(claim.runId, {
                kind: 'completion',
                stepRunId: claim.stepRunId,
                attempt: claim.attempt,
                outcome: result.outcome,
                logs: result.logs,
              });
        })
        .then(() => undefined)
        .catch((error) =>
          this.opts.log.error(
            { err: error, runId: claim.runId, stepId: claim.stepId },
            'recording a step result failed; the lease will expire and the step be retried',
          ),
        );
    const done = (observed ? observed.within(attempt) : attempt()).finally(() => this.inFlight.delete(claim.stepRunId));
    this.inFlight.set(claim.stepRunId, { runId: claim.runId, controller, done });
    return done;
  }

  /** Runs one attempt of a claimed step; never throws. */
  private async run(claim: StepClaim, controller: AbortController): Promise<{ outcome: StepOutcome; logs: string[] }> {
    const liveLog = createLiveLog({
      prisma: this.opts.prisma,
      bus: this.opts.bus,
      claim,
      workerId: this.opts.workerId,
      flushMs: this.opts.stepLogFlushMs ?? 250,
      onError: (error) =>
        this.opts.log.warn(
          { err: error, runId: claim.runId, stepId: claim.stepId },
          'could not write live step logs; they are kept for the step result',
        ),
    });
    const timeoutMs = timeoutMsOf(claim.step);
    const timeout = setTimeout(
      () => controller.abort(new Error(`Step timed out after ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const heartbeat = setInterval(
      () => this.track(this.renewLease(claim, controller)),
      Math.max(50, Math.min(1000, this.opts.leaseMs / 3)),
    );
    try {
      const ctx: StepContext = {
        runId: claim.runId,
        stepId: claim.stepId,
        attempt: claim.attempt,
        config: claim.config,
        signal: controller.signal,
        log: liveLog.log,
        env: this.opts.stepEnv,
        workflow: { commandAllowlist: claim.commandAllowlist },
        idempotencyKey: `${claim.runId}:${claim.stepId}`,
        agents: agentResolver(this.opts.prisma, claim.workspaceId),
        files: this.opts.files
          ? stepFiles({ prisma: this.opts.prisma, bus: this.opts.bus, files: this.opts.files }, claim)
          : undefined,
      };
      let output =
        claim.type === 'loop'
          ? await runLoop(ctx, claim, { prisma: this.opts.prisma, bus: this.opts.bus, now: () => this.now() })
          : await this.handlerFor(claim.type).execute(ctx);
      if (controller.signal.aborted) throw controller.signal.reason;
      if (ctx.files && claim.workflowId && declaresFiles(output) && (await this.exportsFiles(claim.workflowId)))
        output = await exportDeclaredFiles(output, ctx.files, (url) =>
          ctx.env.fetch(url, { signal: controller.signal }),
        );
      return { outcome: { ok: true, output }, logs: await liveLog.close() };
    } catch (error) {
      const err = coerceError(error);
      return {
        outcome: { ok: false, message: err.message, name: err.name, retryable: !(err instanceof NonRetriableError) },
        logs: await liveLog.close(),
      };
    } finally {
      clearTimeout(timeout);
      clearInterval(heartbeat);
    }
  }

  /** includesFileExports of a workflow (asked only when an output declares files). */
  private async exportsFiles(workflowId: string): Promise<boolean> {
    const workflow = await this.opts.prisma.workflow.findUnique({
      where: { id: workflowId },
      select: { includesFileExports: true },
    });
    return workflow?.includesFileExports ?? false;
  }

  private handlerFor(type: string) {
    const handler = stepHandlers[type as keyof typeof stepHandlers];
    if (!handler) throw new NonRetriableError(`No handler for step type ${type}`);
    return handler;
  }

  /** Extends the lease; if the step is no longer ours (cancelled, reclaimed), stop working on it. */
  private async renewLease(claim: StepClaim, controller: AbortController): Promise<void> {
    if (controller.signal.aborted) return;
    const { count } = await this.opts.prisma.stepRun.updateMany({
      where: { id: claim.stepRunId, status: 'RUNNING', attempt: claim.attempt, leaseOwner: this.opts.workerId },
      data: { leaseExpiresAt: new Date(this.now().getTime() + this.opts.leaseMs) },
    });
    if (count === 0) controller.abort(new Error('Step is no longer held by this worker (cancelled or reclaimed)'));
  }

  /**
   * Stops taking work, lets in-flight steps finish for up to `timeoutMs`, then aborts the rest
   * and hands them back (PENDING) so another worker or the next start picks them up at once.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (!this.opts.runsWork) return void (await Promise.allSettled([...this.background]));
    await this.opts.dispatcher.stop(async () => {
      const deadline = Date.now() + timeoutMs;
      while (this.inFlight.size > 0 && Date.now() < deadline)
        await Promise.race([...[...this.inFlight.values()].map((f) => f.done), sleep(50)]);
      const leftovers = [...this.inFlight.values()];
      for (const entry of leftovers) entry.controller.abort(new Error('Worker is shutting down'));
      await Promise.allSettled(leftovers.map((entry) => entry.done));
    });
    await Promise.allSettled([...this.background]);
  }
}

/** Agents looked up once per attempt: a loop's items share the look-up of their agent. */
function agentResolver(prisma: PrismaClient, workspaceId: string): NonNullable<StepContext['agents']> {
  const seen = new Map<string, Promise<AgentSettings | null>>();
  return {
    resolve(reference) {
      if (!seen.has(reference))
        seen.set(
          reference,
          findAgents(prisma, workspaceId, [reference]).then((found) => found.get(reference) ?? null),
        );
      return seen.get(reference)!;
    },
  };
}

function groupByRun(rows: { id: string; runId: string }[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const row of rows) groups.set(row.runId, [...(groups.get(row.runId) ?? []), row.id]);
  return groups;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
