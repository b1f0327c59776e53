// graphile-worker dispatch (PostgreSQL). A step claimed by a worker with a free slot is leased to
// that worker in the claiming transaction and executed by it right after the commit: no job (the
// hot path; its liveness lock below hands the step to another worker within seconds if it dies).
// Every other hand-off is a job in graphile-worker's own schema, inserted with
// graphile_worker.add_job() INSIDE the advance transaction — a claim and its job commit together
// or not at all, so no unleased step is ever claimed without a job (and no job exists for a
// claim that rolled back). Any worker process may run the job.
//
//   weft_step        { runId, stepRunId, attempt }  execute one claimed attempt
//                    job key per stepRun + attempt: re-enqueueing the same attempt dedups
//   weft_wake        { runId, stepRunIds }          a wait or a retry delay is due (run_at)
//   weft_start_runs  {}                             start queued runs now (sent by the API role)
//   weft_scheduler   {}                             fire due schedules, then re-add itself
//
// graphile-worker's own retry (a job whose worker died is unlocked after 4 hours) is far too
// slow for steps, so it is only a backstop: Weft's lease reclaim, run by every worker's
// maintenance loop, re-dispatches a step whose worker stopped renewing its lease as a new
// attempt with a new job, and the old job, if it ever runs again, finds the attempt gone and
// does nothing (claim.ts).
//
// Schedules: one self-rescheduling job (job key weft_scheduler, mode preserve_run_at) rather
// than graphile's crontab, whose resolution is one minute, or a scheduler in every process.
// The task re-adds its successor before ticking, so a worker dying mid-tick does not break the
// chain; every worker re-adds it on start (preserve_run_at keeps the pending one's time).
// Overlapping ticks are harmless: Scheduler claims each fire with a unique ScheduleTick row.
import pg from 'pg';
import { Logger as GraphileLogger, run, runMigrations, type Runner, type TaskList } from 'graphile-worker';
import type { PrismaClient } from '../../db/client.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import type { AdvanceResult } from '../run-state.ts';
import type { DispatchHost, Dispatcher, ScheduleTicker } from './types.ts';

export interface GraphileOptions {
  connectionString: string;
  prisma: PrismaClient;
  log: Logger;
  /** Jobs this process runs at once (WEFT_WORKER_CONCURRENCY). */
  concurrency: number;
  poolMax: number;
  /** How often idle workers look for jobs whose run_at has come (waits, retries). */
  pollIntervalMs: number;
  shutdownTimeoutMs: number;
  /** The engine's lease owner name; this process holds a liveness lock on it while it works. */
  workerId: string;
}

/**
 * Liveness locks: every worker holds a session-level advisory lock keyed (this class,
 * hashtext(workerId)) on a connection of its own for as long as it runs. PostgreSQL releases it
 * the moment the process dies (SIGKILL, OOM, lost machine: the backend sees the socket close),
 * so a lease whose owner holds no such lock belongs to a dead worker and is reclaimed at once,
 * while the lease itself stays long for healthy slow steps (it remains the backstop for a worker
 * that is alive but stuck). "WEFT" in ASCII.
 */
const LIVENESS_LOCK_CLASS = 0x57454654;

const STEP_JOB_MAX_ATTEMPTS = 10;

/** Routes graphile-worker's log lines to pino; its info lines (one per job) become debug. */
function graphileLogger(log: Logger): GraphileLogger {
  return new GraphileLogger(() => (level, message, meta) => {
    const method = level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
    log[method]({ graphile: meta }, message);
  });
}

/** Installs or upgrades graphile-worker's schema (it migrates itself; concurrent callers are safe). */
export async function migrateJobQueue(connectionString: string, log: Logger): Promise<void> {
  const pool = new pg.Pool({ connectionString, max: 2 });
  pool.on('error', (error) => log.warn({ err: error }, 'job queue migration connection error'));
  try {
    await runMigrations({ pgPool: pool, logger: graphileLogger(log) });
  } finally {
    await pool.end();
  }
}

async function addJob(
  db: Pick<Prisma.TransactionClient, '$executeRaw'>,
  task: string,
  payload: unknown,
  options: { jobKey: string; runAt?: Date; mode?: 'replace' | 'preserve_run_at'; maxAttempts?: number },
): Promise<void> {
  await db.$executeRaw`SELECT graphile_worker.add_job(
    identifier := ${task}, payload := ${JSON.stringify(payload)}::json, run_at := ${options.runAt ?? null}::timestamptz,
    max_attempts := ${options.maxAttempts ?? 25}::int, job_key := ${options.jobKey}, job_key_mode := ${options.mode ?? 'replace'})`;
}

export class GraphileDispatcher implements Dispatcher {
  readonly kind = 'graphile';
  private host: DispatchHost | null = null;
  private pool: pg.Pool | null = null;
  private runner: Runner | null = null;
  private scheduler: ScheduleTicker | null = null;
  private liveness: pg.Client | null = null;
  private stopping = false;

  constructor(private readonly opts: GraphileOptions) {}

  /** The queue absorbs any number of claims; per-process concurrency is graphile's `concurrency`. */
  capacity(): number {
    return Number.MAX_SAFE_INTEGER;
  }

  /**
   * Local first: while this worker has free slots, the steps it claims are leased to it and run
   * here right after the commit, with no job — a step costs no job insert, fetch and take-over.
   * Its liveness lock covers a crash (leasesOfDeadWorkers). Claims beyond that, and every claim
   * made by a process that executes no steps (the API role), go to the queue for any worker.
   */
  localSlots(inFlight: number): number {
    return this.host && !this.host.isStopped() && !this.stopping ? Math.max(0, this.opts.concurrency - inFlight) : 0;
  }

  async persist(tx: Prisma.TransactionClient, result: AdvanceResult): Promise<void> {
    for (const claim of result.claims) {
      if (claim.leased) continue;
      await addJob(
        tx,
        'weft_step',
        { runId: claim.runId, stepRunId: claim.stepRunId, attempt: claim.attempt },
        { jobKey: `weft_step:${claim.stepRunId}:${claim.attempt}`, maxAttempts: STEP_JOB_MAX_ATTEMPTS },
      );
    }
    for (const timer of result.timers) {
      await addJob(
        tx,
        'weft_wake',
        { runId: timer.runId, stepRunIds: [timer.stepRunId] },
        { jobKey: `weft_wake:${timer.stepRunId}`, runAt: timer.at },
      );
    }
  }

  afterCommit(_runId: string, result: AdvanceResult): void {
    const host = this.host;
    for (const claim of result.claims) if (claim.leased && host) void host.execute(claim);
  }

  /**
   * A claim is RUNNING without a lease until a worker takes its job. If that worker dies
   * between graphile locking the job and our lease update, graphile keeps the job locked for
   * 4 hours; so a claim older than a lease whose job is locked for longer than a lease (or that
   * has no runnable job left) is handed back. A job merely waiting in the queue is left alone.
   * Reads graphile_worker.jobs, the library's documented read-only view.
   */
  async orphanedClaims(now: Date, leaseMs: number): Promise<{ id: string; runId: string }[]> {
    const cutoff = new Date(now.getTime() - leaseMs);
    return this.opts.prisma.$queryRaw<{ id: string; runId: string }[]>`
      SELECT s.id::text AS id, s."runId"::text AS "runId" FROM "StepRun" s
      WHERE s.status = 'RUNNING' AND s.iteration = -1 AND s."leaseOwner" IS NULL AND s."startedAt" < ${cutoff}
        AND NOT EXISTS (
          SELECT 1 FROM graphile_worker.jobs j
          WHERE j.key = 'weft_step:' || s.id::text || ':' || s.attempt::text
            AND j.attempts < j.max_attempts
            AND (j.locked_at IS NULL OR j.locked_at > ${cutoff}))
      LIMIT 500`;
  }

  /**
   * Steps leased by a worker that no longer holds its liveness lock: it died, so its lease will
   * never be renewed. Locks are per database (pg_locks covers the whole cluster).
   */
  async leasesOfDeadWorkers(): Promise<{ id: string; runId: string; attempt: number }[]> {
    return this.opts.prisma.$queryRaw<{ id: string; runId: string; attempt: number }[]>`
      SELECT s.id::text AS id, s."runId"::text AS "runId", s.attempt FROM "StepRun" s
      WHERE s.status = 'RUNNING' AND s.iteration = -1 AND s."leaseOwner" IS NOT NULL AND s."leaseOwner" <> ${this.opts.workerId}
        AND NOT EXISTS (
          SELECT 1 FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.classid = ${LIVENESS_LOCK_CLASS}::int4::oid AND l.objid = hashtext(s."leaseOwner")::oid)
      LIMIT 500`;
  }

  /** Takes this worker's liveness lock on a connection of its own; retaken if that connection drops. */
  private async holdLivenessLock(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.connectionString });
    // Until the lock is held a failure rejects below (the caller retries); an 'error' event
    // then must neither crash the process nor start a second retry.
    const beforeHeld = () => undefined;
    client.on('error', beforeHeld);
    try {
      await client.connect();
      const [row] = (
        await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1::int4, hashtext($2)) AS held', [
          LIVENESS_LOCK_CLASS,
          this.opts.workerId,
        ])
      ).rows;
      // Taken by another worker id with the same 32-bit hash: both look alive while either lives,
      // which only falls back to the lease for this one. Harmless, and rare enough to log only.
      if (!row?.held)
        this.opts.log.warn(
          { workerId: this.opts.workerId },
          'liveness lock already held (hash collision): a crash of this worker is detected by lease expiry only',
        );
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    client.off('error', beforeHeld);
    client.on('error', (error) => {
      // The lock went with the connection: other workers will take our steps over (our lease
      // renewals then fail and abort them). Hold it again for the steps we take from now on.
      this.opts.log.warn({ err: error }, 'liveness lock connection lost; taking the lock again');
      if (this.liveness === client) this.liveness = null;
      client.end().catch(() => undefined);
      this.retakeLivenessLockSoon();
    });
    this.liveness = client;
  }

  /** Every second until it holds again (the database may be restarting), unless stopping. */
  private retakeLivenessLockSoon(): void {
    if (this.stopping) return;
    setTimeout(() => {
      this.holdLivenessLock().catch((error) => {
        this.opts.log.error({ err: error }, 'could not take the liveness lock again; retrying');
        this.retakeLivenessLockSoon();
      });
    }, 1000).unref();
  }

  async requestStart(): Promise<void> {
    await addJob(this.opts.prisma, 'weft_start_runs', {}, { jobKey: 'weft_start_runs', maxAttempts: 3 });
  }

  async start(host: DispatchHost): Promise<void> {
    if (this.runner) return;
    const taskList: TaskList = {
      weft_step: async (payload) => {
        const p = payload as { runId: string; stepRunId: string; attempt: number };
        await host.runDispatched(p.runId, p.stepRunId, p.attempt);
      },
      weft_wake: async (payload) => {
        const p = payload as { runId: string; stepRunIds: string[] };
        await host.advance(p.runId, { kind: 'wake', stepRunIds: p.stepRunIds });
      },
      weft_start_runs: async () => host.maintain(),
      weft_scheduler: async () => {
        const scheduler = this.scheduler;
        if (!scheduler) return;
        await this.scheduleNextTick(scheduler.intervalMs);
        await scheduler.tick();
      },
    };
    this.stopping = false;
    this.host = host;
    // Before the first job: a lease is only ever taken while its owner's lock is held.
    await this.holdLivenessLock();
    this.pool = new pg.Pool({ connectionString: this.opts.connectionString, max: this.opts.poolMax });
    this.pool.on('error', (error) => this.opts.log.warn({ err: error }, 'job queue connection error'));
    this.runner = await run({
      pgPool: this.pool,
      taskList,
      concurrency: this.opts.concurrency,
      pollInterval: this.opts.pollIntervalMs,
      noHandleSignals: true,
      logger: graphileLogger(this.opts.log),
      // We abort unfinished steps ourselves (Engine.stop); graphile's own abort comes later.
      gracefulShutdownAbortTimeout: this.opts.shutdownTimeoutMs + 5000,
    });
    if (this.scheduler) await this.scheduleNextTick(0);
  }

  driveSchedules(scheduler: ScheduleTicker): void {
    this.scheduler = scheduler;
  }

  private async scheduleNextTick(delayMs: number): Promise<void> {
    await addJob(
      this.opts.prisma,
      'weft_scheduler',
      {},
      { jobKey: 'weft_scheduler', mode: 'preserve_run_at', runAt: new Date(Date.now() + delayMs), maxAttempts: 1 },
    );
  }

  async stop(drain: () => Promise<void>): Promise<void> {
    // runner.stop() stops fetching at once and resolves when the running jobs have returned;
    // drain() makes them return within the shutdown timeout (finish, or abort and hand back).
    const stopping = this.runner?.stop() ?? Promise.resolve();
    await drain();
    await stopping.catch((error) => this.opts.log.warn({ err: error }, 'job runner stopped with an error'));
    this.runner = null;
    await this.pool?.end();
    this.pool = null;
    // Last: until the in-flight steps are finished or handed back, their leases must look alive.
    this.stopping = true;
    await this.liveness?.end().catch(() => undefined);
    this.liveness = null;
  }
}
