// Every change of a run's or a step's status, and nothing else. The state machine (advance.ts,
// signal-waits.ts), the loop step (loop.ts), the starter (queue.ts) and the run services
// (runs/service.ts: cancel, resume, retry) decide *what* happens; the functions here are the only
// code that writes a `status`, and each refuses a move the tables below do not allow, so the
// state machine drawn in docs/architecture.md is also the one the code enforces.
//
// Step rows of a locked run (advanceRun's `Loaded` state) are checked in memory, against the row
// read under the run's lock. Everything else is checked by the database: the UPDATE names the
// statuses it may move from, and a row in any other status is not touched (and reported).
import { Prisma, type StepRun } from '../generated/prisma/client.ts';
import type { RunStatus, StepStatus } from '../generated/prisma/enums.ts';
import { appendEvents, type NewEvent, type StoredEvent } from '../events/log.ts';
import type { Redactor } from './redact.ts';
import { ACTIVE_RUN, OPEN_STEP, TOP_LEVEL } from './statuses.ts';

type Tx = Prisma.TransactionClient;

/** What the step transitions need of a locked run's state (run-state.ts's `Loaded`). */
interface StepState {
  run: { id: string; status: string };
  rows: Map<string, StepRun>;
  events: NewEvent[];
  redact: Redactor;
}

/** From each step status, the statuses a step may move to. */
export const STEP_TRANSITIONS = {
  // decided: claimed for a worker, a wait started, a condition evaluated, skipped, failed on a bad expression
  PENDING: ['RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'SKIPPED', 'CANCELLED'],
  // a worker's result; a reclaim hands it back (PENDING); a poll that did not release its wait (WAITING)
  RUNNING: ['COMPLETED', 'FAILED', 'RETRYING', 'PENDING', 'WAITING', 'CANCELLED'],
  // released, timed out, a poll due (PENDING) or claimed (RUNNING)
  WAITING: ['COMPLETED', 'FAILED', 'PENDING', 'RUNNING', 'CANCELLED'],
  // the backoff passed (PENDING; a loop iteration's worker starts its next attempt itself: RUNNING)
  RETRYING: ['PENDING', 'RUNNING', 'CANCELLED'],
  // finished steps move again only when a run is resumed, or a loop is executed again (PENDING)
  COMPLETED: ['PENDING'],
  FAILED: ['PENDING'],
  SKIPPED: ['PENDING'],
  CANCELLED: ['PENDING'],
} as const satisfies Record<StepStatus, readonly StepStatus[]>;

/** From each run status, the statuses a run may move to. */
export const RUN_TRANSITIONS = {
  QUEUED: ['RUNNING', 'CANCELLED'],
  RUNNING: ['PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'],
  PAUSED: ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'QUEUED'],
  COMPLETED: [],
  FAILED: ['QUEUED'],
  CANCELLED: ['QUEUED'],
} as const satisfies Record<RunStatus, readonly RunStatus[]>;

/** A move the state machine does not allow: a bug in the caller, never a user error. */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
}

function allows<S extends string>(table: Record<S, readonly S[]>, from: S, to: S): boolean {
  return table[from].includes(to);
}

/** The statuses from which `to` may be reached. */
function sourcesOf<S extends string>(table: Record<S, readonly S[]>, to: S): S[] {
  return (Object.keys(table) as S[]).filter((from) => table[from].includes(to));
}

type StepData = Omit<Prisma.StepRunUpdateInput, 'status'>;

interface Finishing {
  durationMs?: number | null;
  /** The attempt recorded, when the step finishes in the same pass that starts it (a condition). */
  attempt?: number;
  startedAt?: Date;
}

/** The fields every finished step gets: no lease, no wake-up, when it finished. */
function finishedFields(now: Date, extra: Finishing): StepData {
  return {
    wakeAt: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    finishedAt: now,
    ...(extra.attempt !== undefined ? { attempt: extra.attempt } : {}),
    ...(extra.startedAt ? { startedAt: extra.startedAt } : {}),
  };
}

/**
 * Moves a top-level step of a locked run to `to` (its row in `state` is replaced by the written
 * one) and records `events` in the run's log with the rest of the transaction.
 */
export async function moveStep(
  tx: Tx,
  state: StepState,
  row: StepRun,
  to: StepStatus,
  data: StepData,
  ...events: NewEvent[]
): Promise<StepRun> {
  if (row.status !== to && !allows(STEP_TRANSITIONS, row.status, to))
    throw new IllegalTransitionError(`step '${row.stepId}' cannot move from ${row.status} to ${to}`);
  const updated = await tx.stepRun.update({ where: { id: row.id }, data: { ...data, status: to } });
  state.rows.set(updated.stepId, updated);
  state.events.push(...events);
  return updated;
}

/** Changes fields of a step of a locked run that are not its status (logs, a new wake-up time). */
export async function updateStep(tx: Tx, state: StepState, row: StepRun, data: StepData): Promise<StepRun> {
  const updated = await tx.stepRun.update({ where: { id: row.id }, data });
  state.rows.set(updated.stepId, updated);
  return updated;
}

/** A step that finished with `output` (COMPLETED), with its STEP_COMPLETED event. */
export function completeStep(
  tx: Tx,
  state: StepState,
  row: StepRun,
  output: unknown,
  now: Date,
  extra: Finishing = {},
): Promise<StepRun> {
  const recorded = state.redact(output ?? null);
  const attempt = extra.attempt ?? row.attempt;
  return moveStep(
    tx,
    state,
    row,
    'COMPLETED',
    { ...finishedFields(now, extra), output: recorded as Prisma.InputJsonValue, error: Prisma.DbNull },
    {
      type: 'STEP_COMPLETED',
      stepId: row.stepId,
      data: { output: recorded, attempt, ...(extra.durationMs !== undefined ? { durationMs: extra.durationMs } : {}) },
    },
  );
}

/** A step that failed for good (FAILED), with its STEP_FAILED event. */
export function failStep(
  tx: Tx,
  state: StepState,
  row: StepRun,
  error: Record<string, unknown>,
  now: Date,
  extra: Finishing = {},
): Promise<StepRun> {
  const attempt = extra.attempt ?? row.attempt;
  return moveStep(
    tx,
    state,
    row,
    'FAILED',
    { ...finishedFields(now, extra), error: error as Prisma.InputJsonValue },
    {
      type: 'STEP_FAILED',
      stepId: row.stepId,
      data: { error, attempt, ...(extra.durationMs !== undefined ? { durationMs: extra.durationMs } : {}) },
    },
  );
}

/** A step that will never run in this run (SKIPPED): `reason` says why. */
export function skipStep(
  tx: Tx,
  state: StepState,
  row: StepRun,
  reason: string,
  now: Date,
  blocked = false,
): Promise<StepRun> {
  return moveStep(
    tx,
    state,
    row,
    'SKIPPED',
    { finishedAt: now, error: blocked ? { message: reason } : undefined },
    { type: 'STEP_SKIPPED', stepId: row.stepId, data: { reason } },
  );
}

/** A failed attempt that will be tried again at `wakeAt` (RETRYING), by the same timers as a timed wait. */
export function retryStepLater(
  tx: Tx,
  state: StepState,
  row: StepRun,
  error: Record<string, unknown>,
  wakeAt: Date,
): Promise<StepRun> {
  return moveStep(
    tx,
    state,
    row,
    'RETRYING',
    { error: error as Prisma.InputJsonValue, wakeAt, leaseOwner: null, leaseExpiresAt: null },
    {
      type: 'STEP_RETRYING',
      stepId: row.stepId,
      data: { error, attempt: row.attempt, nextAttempt: row.attempt + 1, nextAttemptAt: wakeAt.toISOString() },
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Loop iterations: rows of their own (iteration ≥ 0) written by the worker executing the loop,
// each change in its own short transaction with its event.

export type IterationData = Omit<Prisma.StepRunUpdateManyMutationInput, 'status'>;

/**
 * Moves a loop iteration's row to `to`. False when the row was no longer in a status that may
 * move there (the run was cancelled or resumed meanwhile): the caller stops working on it.
 */
export async function moveIteration(
  tx: Tx,
  run: { id: string; workspaceId: string },
  stepRunId: string,
  to: StepStatus,
  data: IterationData,
  event: NewEvent,
): Promise<{ moved: boolean; events: StoredEvent[] }> {
  const { count } = await tx.stepRun.updateMany({
    where: { id: stepRunId, status: { in: sourcesOf(STEP_TRANSITIONS, to) } },
    data: { ...data, status: to },
  });
  if (count === 0) return { moved: false, events: [] };
  return { moved: true, events: await appendEvents(tx, run, [event]) };
}

/**
 * The iterations a new execution of a loop will run (interrupted, failed, cancelled or waiting
 * for a retry) start over from PENDING; their attempt counts and a pending retry's wakeAt stay.
 */
export async function resetIterations(tx: Tx, stepRunIds: string[]): Promise<void> {
  if (!stepRunIds.length) return;
  await tx.stepRun.updateMany({
    where: { id: { in: stepRunIds }, iteration: { gte: 0 }, status: { in: sourcesOf(STEP_TRANSITIONS, 'PENDING') } },
    data: { status: 'PENDING', leaseOwner: null, leaseExpiresAt: null },
  });
}

// ---------------------------------------------------------------------------------------------
// Runs.

async function moveRun(tx: Tx, runId: string, to: RunStatus, data: Omit<Prisma.RunUpdateManyMutationInput, 'status'>) {
  const { count } = await tx.run.updateMany({
    where: { id: runId, status: { in: sourcesOf(RUN_TRANSITIONS, to) } },
    data: { ...data, status: to },
  });
  if (count === 0) throw new IllegalTransitionError(`run ${runId} cannot move to ${to} from its current status`);
}

interface StartingRun {
  id: string;
  workspaceId: string;
  definition: unknown;
  startedAt: Date | null;
}

/** QUEUED → RUNNING: creates the step rows it does not have yet, records RUN_STARTED (RUN_RESUMED after a resume). */
export async function startRun(tx: Tx, run: StartingRun, now: Date): Promise<StoredEvent[]> {
  const resumed = run.startedAt !== null;
  await moveRun(tx, run.id, 'RUNNING', { startedAt: run.startedAt ?? now });
  const steps = ((run.definition as { steps?: { id: string; type: string }[] }).steps ?? []).map((s) => ({
    workspaceId: run.workspaceId,
    runId: run.id,
    stepId: s.id,
    type: s.type,
  })) satisfies Prisma.StepRunCreateManyInput[];
  await tx.stepRun.createMany({ data: steps, skipDuplicates: true });
  return appendEvents(tx, run, [{ type: resumed ? 'RUN_RESUMED' : 'RUN_STARTED' }]);
}

/** RUNNING → PAUSED: a wait for resumeRun started and nothing else can move. */
export async function pauseRun(tx: Tx, state: StepState, reason: string): Promise<void> {
  await moveRun(tx, state.run.id, 'PAUSED', {});
  state.run.status = 'PAUSED';
  state.events.push({ type: 'RUN_PAUSED', data: { reason } });
}

/** PAUSED → RUNNING: the waits that paused the run were resumed. */
export async function continueRun(tx: Tx, state: StepState, data: Record<string, unknown>): Promise<void> {
  await moveRun(tx, state.run.id, 'RUNNING', {});
  state.run.status = 'RUNNING';
  state.events.push({ type: 'RUN_RESUMED', data });
}

/** RUNNING or PAUSED → COMPLETED, FAILED or CANCELLED once every step finished (finalize.ts computes the rest). */
export async function finishRun(
  tx: Tx,
  runId: string,
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED',
  data: Pick<Prisma.RunUpdateManyMutationInput, 'output' | 'error' | 'checks'>,
  now: Date,
): Promise<void> {
  await moveRun(tx, runId, status, { ...data, finishedAt: now });
}

/** Any unfinished run → CANCELLED, with its unfinished steps (loop iterations included). */
export async function cancelRunAndSteps(
  tx: Tx,
  run: { id: string; workspaceId: string },
  reason: string,
  now: Date,
): Promise<StoredEvent[]> {
  const open = await tx.stepRun.findMany({
    where: { runId: run.id, status: { in: [...OPEN_STEP] } },
    select: { stepId: true, iteration: true },
  });
  await tx.stepRun.updateMany({
    where: { runId: run.id, status: { in: [...OPEN_STEP] } },
    data: { status: 'CANCELLED', finishedAt: now, leaseOwner: null, leaseExpiresAt: null, wakeAt: null },
  });
  const { count } = await tx.run.updateMany({
    where: { id: run.id, status: { in: [...ACTIVE_RUN] } },
    data: { status: 'CANCELLED', cancelRequestedAt: now, finishedAt: now, error: { message: reason } },
  });
  if (count === 0) throw new IllegalTransitionError(`run ${run.id} is not active and cannot be cancelled`);
  const events: NewEvent[] = open
    .filter((s) => s.iteration === TOP_LEVEL)
    .map((s) => ({ type: 'STEP_CANCELLED', stepId: s.stepId, data: { reason } }));
  events.push({ type: 'RUN_CANCELLED', data: { status: 'CANCELLED', reason } });
  return appendEvents(tx, run, events);
}

/**
 * PAUSED, FAILED or CANCELLED → QUEUED: `stepIds` go back to PENDING (their loop iterations are
 * dropped), the others keep their outputs; the starter picks the run up like a new one.
 */
export async function requeueRun(
  tx: Tx,
  run: { id: string; workspaceId: string },
  stepIds: string[],
  data: Record<string, unknown>,
): Promise<StoredEvent[]> {
  await tx.stepRun.updateMany({
    where: { runId: run.id, iteration: TOP_LEVEL, stepId: { in: stepIds } },
    data: {
      status: 'PENDING',
      attempt: 0,
      output: Prisma.DbNull,
      error: Prisma.DbNull,
      input: Prisma.DbNull,
      wakeAt: null,
      leaseOwner: null,
      leaseExpiresAt: null,
      startedAt: null,
      finishedAt: null,
    },
  });
  await tx.stepRun.deleteMany({ where: { runId: run.id, iteration: { gte: 0 }, stepId: { in: stepIds } } });
  await moveRun(tx, run.id, 'QUEUED', {
    finishedAt: null,
    cancelRequestedAt: null,
    output: Prisma.DbNull,
    error: Prisma.DbNull,
    checks: Prisma.DbNull,
  });
  return appendEvents(tx, run, [{ type: 'RUN_QUEUED', data }]);
}

/** A retry's new run starts with the steps it reuses already COMPLETED, their outputs copied. */
export async function seedReusedSteps(
  tx: Tx,
  run: { id: string; workspaceId: string },
  reused: { stepId: string; type: string; output: unknown }[],
  parentRunId: string,
  now: Date,
): Promise<void> {
  if (!reused.length) return;
  await tx.stepRun.createMany({
    data: reused.map(({ stepId, type, output }) => ({
      workspaceId: run.workspaceId,
      runId: run.id,
      stepId,
      type,
      status: 'COMPLETED' as const,
      output: (output ?? null) as Prisma.InputJsonValue,
      startedAt: now,
      finishedAt: now,
      logs: `reused output of run ${parentRunId}\n`,
    })),
  });
}
