// The run state machine, applied inside one transaction that holds the run's row lock:
// record what happened to a step (completion, failure, wake-up, interruption), then decide
// every step that can be decided now (skip, evaluate a condition, start a wait, claim a step
// for a worker), and finish the run when nothing is left. Callers commit, then publish the
// returned events and dispatch the returned claims — the database is always ahead of the
// outside world, never behind it.
import { Prisma } from '../generated/prisma/client.ts';
import { appendEvents } from '../events/log.ts';
import { evaluateExpression, renderTemplatesForRecord } from './expressions.ts';
import { finalizeRun } from './finalize.ts';
import { readiness } from './graph.ts';
import { backoffMs, retryPolicyOf } from './retry.ts';
import { isStepFinished, TOP_LEVEL } from './statuses.ts';
import { WORKER_STEP_TYPES } from './steps/registry.ts';
import {
  completeStep,
  continueRun,
  failStep,
  moveStep,
  pauseRun,
  retryStepLater,
  skipStep,
  updateStep,
} from './transitions.ts';
import {
  buildClaim,
  claimConfig,
  expressionContextOf,
  claimLease,
  loadRunState,
  lockAndReadRun,
  stepById,
  type AdvanceOptions,
  type AdvanceResult,
  type Loaded,
  type StepOutcome,
} from './run-state.ts';
import { coerceError } from '../errors.ts';
import {
  applySignal,
  bufferedEvent,
  claimPoll,
  pollCompleted,
  startSignalWait,
  storeSignal,
  wakeSignalWait,
} from './signal-waits.ts';
import {
  branchSkipReason,
  isPollDue,
  isPollingWait,
  isResumeWait,
  isSignalWait,
  type SignalChange,
} from './signals.ts';

type Tx = Prisma.TransactionClient;

const DEFAULT_MAX_PARALLEL_STEPS = 10;
/** An interrupted step (worker died) is retried even past its policy, but not forever. */
const EXTRA_ATTEMPTS_FOR_INTERRUPTIONS = 3;

export type RunChange =
  | { kind: 'completion'; stepRunId: string; attempt: number; outcome: StepOutcome; logs?: string[] }
  | { kind: 'wake'; stepRunIds: string[] }
  /** `attempts`: the attempt each step was seen at; a step already taken over since is left alone. */
  | { kind: 'reclaim'; stepRunIds: string[]; reason: string; attempts?: Record<string, number> }
  | { kind: 'resume-wait'; stepId: string; data?: unknown }
  /** An event for the run's waits (signalRun, sendEvent, a wait's token route). */
  | SignalChange
  | { kind: 'none' };

function errorJson(message: string, extra: Record<string, unknown> = {}) {
  return { message, ...extra };
}

async function applyCompletion(
  tx: Tx,
  state: Loaded,
  change: Extract<RunChange, { kind: 'completion' }>,
  opts: AdvanceOptions,
  timers: AdvanceResult['timers'],
): Promise<void> {
  const row = [...state.rows.values()].find((r) => r.id === change.stepRunId);
  // A completion is recorded only by the worker that holds the step's current attempt:
  // a late result after cancellation, reclaim or another worker's retry is dropped, so a
  // step is never recorded twice.
  if (row?.status !== 'RUNNING' || row.attempt !== change.attempt || row.leaseOwner !== opts.workerId) return;
  const step = stepById(state.run.definition, row.stepId);
  if (isPollingWait(step)) return pollCompleted(tx, state, row, step!, change.outcome, opts.now, timers);
  const durationMs = row.startedAt ? opts.now.getTime() - row.startedAt.getTime() : null;
  let current = row;
  if (change.logs?.length) {
    const lines = change.logs.map((line) => state.redact(line));
    current = await updateStep(tx, state, row, { logs: `${row.logs}${lines.join('\n')}\n` });
    state.events.push({ type: 'STEP_LOG', stepId: row.stepId, data: { lines, attempt: row.attempt } });
  }
  if (change.outcome.ok) {
    await completeStep(tx, state, current, change.outcome.output, opts.now, { durationMs });
    return;
  }
  const policy = retryPolicyOf(step ?? {});
  const error = errorJson(state.redact(change.outcome.message), {
    name: change.outcome.name ?? 'Error',
    attempt: row.attempt,
    retryable: change.outcome.retryable,
  });
  if (change.outcome.retryable && row.attempt < policy.attempts) {
    const wakeAt = new Date(opts.now.getTime() + backoffMs(policy, row.attempt + 1));
    await retryStepLater(tx, state, current, error, wakeAt);
    timers.push({ stepRunId: row.id, runId: row.runId, at: wakeAt });
    return;
  }
  await failStep(tx, state, current, error, opts.now, { durationMs });
}

async function applyChange(
  tx: Tx,
  state: Loaded,
  change: RunChange,
  opts: AdvanceOptions,
  timers: AdvanceResult['timers'],
): Promise<void> {
  switch (change.kind) {
    case 'none':
      return;
    case 'completion':
      await applyCompletion(tx, state, change, opts, timers);
      return;
    case 'wake':
      for (const row of [...state.rows.values()].filter((r) => change.stepRunIds.includes(r.id))) {
        if (!row.wakeAt || row.wakeAt > opts.now) continue;
        if (row.status === 'RETRYING') await moveStep(tx, state, row, 'PENDING', { wakeAt: null });
        else if (row.status === 'WAITING' && isSignalWait(stepById(state.run.definition, row.stepId)))
          await wakeSignalWait(tx, state, row, stepById(state.run.definition, row.stepId)!, opts.now);
        else if (row.status === 'WAITING')
          await completeStep(tx, state, row, { waitedUntil: row.wakeAt.toISOString() }, opts.now);
      }
      return;
    case 'reclaim':
      for (const row of [...state.rows.values()].filter(
        (r) =>
          change.stepRunIds.includes(r.id) &&
          r.status === 'RUNNING' &&
          (change.attempts?.[r.id] ?? r.attempt) === r.attempt,
      )) {
        const policy = retryPolicyOf(stepById(state.run.definition, row.stepId) ?? {});
        if (row.attempt >= policy.attempts + EXTRA_ATTEMPTS_FOR_INTERRUPTIONS) {
          const error = errorJson(`Step was interrupted ${row.attempt} times (${change.reason}); giving up`, {
            name: 'InterruptedError',
            attempt: row.attempt,
          });
          await failStep(tx, state, row, error, opts.now);
        } else {
          await moveStep(
            tx,
            state,
            row,
            'PENDING',
            { leaseOwner: null, leaseExpiresAt: null },
            {
              type: 'STEP_RETRYING',
              stepId: row.stepId,
              data: { reason: change.reason, attempt: row.attempt, nextAttempt: row.attempt + 1 },
            },
          );
        }
      }
      return;
    case 'signal':
      await applySignal(tx, state, change, opts.now);
      return;
    case 'resume-wait': {
      const row = state.rows.get(change.stepId);
      if (row?.status === 'WAITING')
        await completeStep(tx, state, row, { resumedAt: opts.now.toISOString(), data: change.data ?? null }, opts.now);
      return;
    }
  }
}

/** Reads the wait config: a wake-up time, or null for "until resumed". */
function waitUntil(config: Record<string, unknown>, now: Date): Date | null | Error {
  if (typeof config.seconds === 'number') return new Date(now.getTime() + config.seconds * 1000);
  if (typeof config.until === 'string') {
    const at = new Date(config.until);
    return Number.isNaN(at.getTime()) ? new Error(`wait.until is not a valid date-time: ${config.until}`) : at;
  }
  if (config.resume === true) return null;
  return new Error('wait needs one of seconds, until or resume: true');
}

/**
 * Decides every PENDING top-level step that can be decided now, repeatedly, until nothing
 * changes (a condition evaluated in this pass can make its dependents ready in the next).
 */
async function decideSteps(
  tx: Tx,
  state: Loaded,
  opts: AdvanceOptions,
  result: AdvanceResult,
): Promise<{ paused: boolean }> {
  const { definition } = state.run;
  const maxParallel =
    typeof definition.maxParallelSteps === 'number' ? definition.maxParallelSteps : DEFAULT_MAX_PARALLEL_STEPS;
  let capacity = opts.capacity;
  let localSlots = opts.localSlots;
  let paused = false;
  const stepsById = new Map(definition.steps.map((s) => [s.id, s]));
  for (let changed = true; changed; ) {
    changed = false;
    const statusOf = (id: string) => state.rows.get(id)?.status;
    let running = [...state.rows.values()].filter((r) => r.status === 'RUNNING').length;
    for (const step of definition.steps) {
      const row = state.rows.get(step.id);
      if (row?.status !== 'PENDING') continue;
      const ready = readiness(step, statusOf);
      if (ready === 'WAIT') continue;
      if (ready === 'SKIP' || ready === 'BLOCKED') {
        const reason = ready === 'SKIP' ? 'all dependencies were skipped' : 'a dependency failed or was cancelled';
        await skipStep(tx, state, row, reason, opts.now, ready === 'BLOCKED');
        changed = true;
        continue;
      }
      const context = expressionContextOf(state);
      const branchSkip = branchSkipReason(step, stepsById, (id) => state.rows.get(id)?.output ?? null);
      if (branchSkip) {
        await skipStep(tx, state, row, branchSkip, opts.now);
        changed = true;
        continue;
      }
      try {
        if (typeof step.when === 'string' && !(await evaluateExpression(step.when, context))) {
          await skipStep(tx, state, row, `when is false: ${step.when}`, opts.now);
          changed = true;
          continue;
        }
        if (step.type === 'condition') {
          const value = await evaluateExpression(String(step.config?.expression ?? ''), context);
          state.events.push({ type: 'STEP_STARTED', stepId: step.id, data: { attempt: row.attempt + 1 } });
          await completeStep(tx, state, row, { result: value ?? null }, opts.now, {
            attempt: row.attempt + 1,
            startedAt: opts.now,
            durationMs: 0,
          });
          changed = true;
          continue;
        }
        if (isSignalWait(step) && !isPollDue(row, step)) {
          await startSignalWait(tx, state, row, step, context, opts, result.timers);
          changed = true;
          continue;
        }
        if (step.type === 'wait' && !isPollDue(row, step)) {
          const { value, recorded } = await renderTemplatesForRecord(step.config ?? {}, context);
          const until = waitUntil(value as Record<string, unknown>, opts.now);
          if (until instanceof Error) throw until;
          await moveStep(
            tx,
            state,
            row,
            'WAITING',
            {
              attempt: row.attempt + 1,
              startedAt: opts.now,
              wakeAt: until,
              input: state.redact(recorded) as Prisma.InputJsonValue,
            },
            {
              type: 'STEP_WAITING',
              stepId: step.id,
              data: until ? { until: until.toISOString() } : { untilResumed: true },
            },
          );
          if (until) result.timers.push({ stepRunId: row.id, runId: state.run.id, at: until });
          else paused = true;
          changed = true;
          continue;
        }
        if (!WORKER_STEP_TYPES.has(step.type) && !isPollDue(row, step))
          throw new Error(`Unknown step type ${step.type}`);
        if (running >= maxParallel) continue;
        if (capacity <= 0) {
          result.starved = true;
          continue;
        }
        const local = localSlots-- > 0;
        if (isPollDue(row, step)) {
          result.claims.push(await claimPoll(tx, state, row, step, context, opts, local));
          running++;
          capacity--;
          changed = true;
          continue;
        }
        const { config, recorded } = await claimConfig(step, context);
        const attempt = row.attempt + 1;
        await moveStep(
          tx,
          state,
          row,
          'RUNNING',
          {
            attempt,
            startedAt: opts.now,
            finishedAt: null,
            error: Prisma.DbNull,
            input: state.redact(recorded) as Prisma.InputJsonValue,
            ...claimLease(opts, local),
          },
          { type: 'STEP_STARTED', stepId: step.id, data: { attempt, input: state.redact(recorded) } },
        );
        result.claims.push(buildClaim(state, state.rows.get(step.id)!, step, config, context));
        running++;
        capacity--;
        changed = true;
      } catch (error) {
        // Expression and config errors cannot be fixed by retrying.
        const failure = errorJson(state.redact(coerceError(error).message), {
          name: 'ExpressionError',
          attempt: row.attempt + 1,
          retryable: false,
        });
        await failStep(tx, state, row, failure, opts.now, { attempt: row.attempt + 1, startedAt: opts.now });
        changed = true;
      }
    }
  }
  return { paused };
}

/** Some step still waits for resumeRun (a wait for an event or a condition does not pause the run). */
function allRowsWaitingForResume(state: Loaded): boolean {
  return [...state.rows.values()].some(
    (r) => r.status === 'WAITING' && r.wakeAt === null && isResumeWait(stepById(state.run.definition, r.stepId)),
  );
}

/**
 * Applies `change` to the run and moves it as far forward as possible. Must run inside a
 * transaction; locks the run row first so concurrent advances of one run serialise.
 */
export async function advanceRun(
  tx: Tx,
  runId: string,
  change: RunChange,
  opts: AdvanceOptions,
): Promise<AdvanceResult> {
  const result: AdvanceResult = { events: [], claims: [], timers: [], finished: null, starved: false };
  // A new signal is stored under the run's lock, whatever the run's status: a QUEUED run's waits
  // receive it when they start.
  if (change.kind === 'signal' && change.send) {
    if (!(await lockAndReadRun(tx, runId))) return result;
    // A token's signal is for its one step: stored only if that step is still waiting for it.
    if (
      change.stepId &&
      !(await tx.stepRun.findFirst({
        where: { runId, stepId: change.stepId, iteration: TOP_LEVEL, status: 'WAITING' },
        select: { id: true },
      }))
    )
      return result;
    change = { ...change, signalId: await storeSignal(tx, runId, change.send) };
  }
  const state = await loadRunState(tx, runId, opts.secretsKey, opts.publicUrl);
  if (!state) {
    // A QUEUED run keeps the signal for its waits; the log says it arrived.
    if (change.kind === 'signal' && change.send)
      result.events = await appendEvents(tx, { id: runId, workspaceId: change.send.workspaceId }, [
        bufferedEvent(change.signalId!, change.send),
      ]);
    return result;
  }
  const run = state.run;

  await applyChange(tx, state, change, opts, result.timers);
  let status = run.status;
  if (change.kind === 'resume-wait' && status === 'PAUSED' && !allRowsWaitingForResume(state)) {
    await continueRun(tx, state, { stepId: change.stepId });
    status = 'RUNNING';
  }
  const { paused } = await decideSteps(tx, state, opts, result);

  const allRows = [...state.rows.values()];
  if (allRows.every((r) => isStepFinished(r.status))) {
    result.finished = await finalizeRun(tx, state.run, allRows, state.redact, state.events, opts.now);
  } else if (paused && status === 'RUNNING') {
    await pauseRun(tx, state, 'waiting to be resumed');
  }
  result.events = await appendEvents(tx, state.run, state.events);
  return result;
}
