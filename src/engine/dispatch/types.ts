// The dispatch layer: how claimed steps, wake-ups and "start queued runs" reach a worker.
// Everything else — the state machine (advanceRun), leases, the step handlers — is shared, so
// the embedded database (in-process dispatch) and PostgreSQL with several worker processes
// (graphile-worker jobs) run the same executor core.
import type { Prisma } from '../../generated/prisma/client.ts';
import type { RunChange } from '../advance.ts';
import type { AdvanceResult, StepClaim } from '../run-state.ts';

/** What a dispatcher may ask of the engine that owns it. */
export interface DispatchHost {
  /** Executes one claimed attempt in this process and records its outcome; never rejects. */
  execute(claim: StepClaim): Promise<void>;
  /** A queued job asks to execute an attempt claimed by (maybe) another process. */
  runDispatched(runId: string, stepRunId: string, attempt: number): Promise<void>;
  advance(runId: string, change: RunChange): Promise<unknown>;
  /** Reclaims expired leases, wakes due steps, starts queued runs (bounded, idempotent). */
  maintain(): Promise<void>;
  isStopped(): boolean;
}

/** The scheduler, as a dispatcher drives it (src/schedules/scheduler.ts). */
export interface ScheduleTicker {
  readonly intervalMs: number;
  /** Fires the due schedules once (idempotent: each fire time is claimed by a unique row). */
  tick(): Promise<void>;
  /** Ticks every intervalMs on a timer of this process. */
  start(): void;
}

export interface Dispatcher {
  readonly kind: 'in-process' | 'graphile';
  /** How many more steps advanceRun may claim now, given this process's in-flight count. */
  capacity(inFlight: number): number;
  /** Of those, how many this process leases to itself and executes after the commit (AdvanceOptions.localSlots). */
  localSlots(inFlight: number): number;
  /** Inside the advance transaction: make the hand-off durable (graphile: insert the jobs of unleased claims). */
  persist(tx: Prisma.TransactionClient, result: AdvanceResult): Promise<void>;
  /** After the commit: act in this process (execute the claims leased to it; in-process: set timers). */
  afterCommit(runId: string, result: AdvanceResult): void;
  /**
   * Claimed steps whose hand-off was lost: no worker took them within `leaseMs` although the
   * job was picked up (its worker died before taking the lease) or no runnable job is left.
   * The engine reclaims them like steps with an expired lease.
   */
  orphanedClaims(now: Date, leaseMs: number): Promise<{ id: string; runId: string }[]>;
  /**
   * Steps leased by a worker known to be dead (graphile: it no longer holds its liveness lock),
   * reclaimed at once instead of after the lease. In-process: none (one process owns the database).
   */
  leasesOfDeadWorkers(): Promise<{ id: string; runId: string; attempt: number }[]>;
  /** Asks some worker to start queued runs now (the API role has no executor of its own). */
  requestStart(): Promise<void>;
  /**
   * Hands the scheduler to the dispatcher before start (worker roles only). In-process its own
   * timer ticks it; graphile-worker ticks it as one self-rescheduling job shared by all workers.
   */
  driveSchedules(scheduler: ScheduleTicker): void;
  /** Begins taking work (worker roles only). */
  start(host: DispatchHost): Promise<void>;
  /** Stops taking new work, runs `drain` (finish or hand back in-flight steps), then releases resources. */
  stop(drain: () => Promise<void>): Promise<void>;
}
