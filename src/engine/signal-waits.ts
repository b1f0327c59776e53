// The state-machine side of waits for an event or a condition: starting one, releasing it with a
// signal, timing it out. Called by advanceRun inside its transaction (the run's row is locked), so
// the step's new status, the signal's delivery record and the run events commit together.
import { Prisma, type StepRun } from '../generated/prisma/client.ts';
import type { StepDefinition } from '../workflows/definition.ts';
import type { SignalWaitConfig } from '../workflows/wait-config.ts';
import type { NewEvent } from '../events/log.ts';
import { renderTemplatesForRecord, type ExpressionContext } from './expressions.ts';
import {
  buildClaim,
  claimConfig,
  expressionContextOf,
  claimLease,
  type AdvanceOptions,
  type AdvanceResult,
  type Loaded,
  type StepClaim,
  type StepOutcome,
} from './run-state.ts';
import {
  armToken,
  deadlineOf,
  eventOutput,
  executedStep,
  isPollingWait,
  isSignalWait,
  nextPollAt,
  pendingSignals,
  recordDelivery,
  releases,
  timeoutAt,
  timeoutOutcome,
  type NewSignal,
  type SignalChange,
  type StoredSignal,
} from './signals.ts';
import { completeStep, failStep, moveStep, updateStep } from './transitions.ts';

type Tx = Prisma.TransactionClient;

export async function storeSignal(tx: Tx, runId: string, send: NewSignal): Promise<string> {
  const created = await tx.signal.create({
    data: {
      workspaceId: send.workspaceId,
      runId,
      name: send.name,
      payload: (send.payload ?? Prisma.DbNull) as Prisma.InputJsonValue,
      source: send.source,
      expiresAt: send.expiresAt,
    },
    select: { id: true },
  });
  return created.id;
}

async function complete(
  tx: Tx,
  state: Loaded,
  row: StepRun,
  output: Record<string, unknown>,
  now: Date,
): Promise<void> {
  const durationMs = row.startedAt ? now.getTime() - row.startedAt.getTime() : null;
  await completeStep(tx, state, row, output, now, { durationMs });
}

async function fail(tx: Tx, state: Loaded, row: StepRun, error: Record<string, unknown>, now: Date): Promise<void> {
  await failStep(tx, state, row, error, now);
}

/** A match or condition that throws fails its step (it cannot be fixed by waiting longer). */
async function releasesOrFails(
  tx: Tx,
  state: Loaded,
  row: StepRun,
  config: SignalWaitConfig,
  signal: StoredSignal | null,
  context: ExpressionContext,
  now: Date,
): Promise<boolean | 'failed'> {
  try {
    return await releases(config, signal, context);
  } catch (error) {
    await fail(
      tx,
      state,
      row,
      {
        message: state.redact((error as Error).message),
        name: 'ExpressionError',
        attempt: row.attempt,
        retryable: false,
      },
      now,
    );
    return 'failed';
  }
}

/**
 * Starts a wait for an event or a condition. An event wait first looks for a signal it has not
 * received yet (sent before it started) and completes at once with the oldest matching one; a
 * condition wait completes at once when its condition is already true. Otherwise the step waits,
 * with its timeout as its wake-up time (none: until an event releases it).
 */
export async function startSignalWait(
  tx: Tx,
  state: Loaded,
  row: StepRun,
  step: StepDefinition,
  context: ExpressionContext,
  opts: AdvanceOptions,
  timers: AdvanceResult['timers'],
): Promise<void> {
  const { value, recorded } = await renderTemplatesForRecord(step.config ?? {}, context);
  const rendered = value as Record<string, unknown>;
  const deadline = timeoutAt(rendered, opts.now);
  if (deadline instanceof Error) throw deadline;
  const config = step.config as SignalWaitConfig;
  // The deadline is recorded with the input: a polling wait's wake-up time is its next poll.
  const input = { ...(state.redact(recorded) as Record<string, unknown>), timeoutAt: deadline?.toISOString() ?? null };
  const wakeAt = isPollingWait(step) ? nextPollAt(config, opts.now, deadline) : deadline;
  await moveStep(
    tx,
    state,
    row,
    'WAITING',
    { attempt: row.attempt + 1, startedAt: opts.now, finishedAt: null, wakeAt, input: input as Prisma.InputJsonValue },
    {
      type: 'STEP_WAITING',
      stepId: step.id,
      data: {
        ...(typeof config.event === 'string' ? { event: config.event } : { condition: config.condition }),
        timeoutAt: deadline?.toISOString() ?? null,
      },
    },
  );
  const waiting = state.rows.get(step.id)!;
  if (typeof config.event === 'string') {
    await armToken(tx, state.run, step.id, opts.secretsKey);
    for (const signal of await pendingSignals(tx, state.run, config.event, opts.now)) {
      const released = await releasesOrFails(tx, state, waiting, config, signal, context, opts.now);
      if (released === 'failed') return;
      if (!released) continue;
      await recordDelivery(tx, state.run.id, step.id, signal, state.events);
      await complete(tx, state, waiting, eventOutput(signal), opts.now);
      return;
    }
  } else {
    const released = await releasesOrFails(tx, state, waiting, config, null, context, opts.now);
    if (released === 'failed') return;
    if (released) return complete(tx, state, waiting, { event: null, timedOut: false, conditionMet: true }, opts.now);
  }
  if (wakeAt) timers.push({ stepRunId: row.id, runId: state.run.id, at: wakeAt });
}

/**
 * A signal reaches the run: the first waiting event wait (in definition order) whose name and
 * `match` fit takes it; every waiting condition wait re-evaluates its condition with it
 * (`event`, `payload`). A signal sent to this run that no wait takes stays buffered for a later one.
 */
export async function applySignal(tx: Tx, state: Loaded, change: SignalChange, now: Date): Promise<void> {
  if (!change.signalId) return;
  const stored = await tx.signal.findUnique({
    where: { id: change.signalId },
    select: { id: true, runId: true, name: true, payload: true, source: true, createdAt: true, expiresAt: true },
  });
  // Not checked against expiresAt here: a signal sent with retainSeconds 0 is offered once, at
  // once; maintenance deletes expired signals before offering any again.
  if (!stored) return;
  // A workspace event reaches the runs that existed when it was sent, a run's signal only that run.
  if (stored.runId ? stored.runId !== state.run.id : stored.createdAt < state.run.createdAt) return;
  if (await tx.signalDelivery.findUnique({ where: { signalId_runId: { signalId: stored.id, runId: state.run.id } } }))
    return;
  const signal: StoredSignal = stored;
  const context = expressionContextOf(state);
  let taken: string | null = null;
  for (const step of state.run.definition.steps) {
    const row = state.rows.get(step.id);
    if (row?.status !== 'WAITING' || !isSignalWait(step) || (change.stepId && step.id !== change.stepId)) continue;
    const config = step.config as SignalWaitConfig;
    if (typeof config.event === 'string') {
      if (taken) continue;
      const released = change.stepId
        ? signal.name === config.event
        : await releasesOrFails(tx, state, row, config, signal, context, now);
      if (released !== true) continue;
      await recordDelivery(tx, state.run.id, step.id, signal, state.events);
      await complete(tx, state, row, eventOutput(signal), now);
      if (change.stepId)
        await tx.waitToken.updateMany({ where: { runId: state.run.id, stepId: step.id }, data: { usedAt: now } });
      taken = step.id;
    } else if ((await releasesOrFails(tx, state, row, config, signal, context, now)) === true) {
      state.events.push({
        type: 'SIGNAL_DELIVERED',
        stepId: step.id,
        data: { signalId: signal.id, name: signal.name, source: signal.source },
      });
      await complete(tx, state, row, { ...eventOutput(signal), conditionMet: true }, now);
    }
  }
  if (!taken && stored.runId === state.run.id) state.events.push(bufferedEvent(signal.id, stored));
}

/** The run event of a signal kept for a wait that starts later. */
export function bufferedEvent(signalId: string, signal: { name: string; source: string; expiresAt: Date }): NewEvent {
  return {
    type: 'SIGNAL_BUFFERED',
    data: { signalId, name: signal.name, source: signal.source, expiresAt: signal.expiresAt.toISOString() },
  };
}

/** A signal wait's wake-up time came: its timeout, or (polling) its next poll, handed back to be claimed. */
export async function wakeSignalWait(
  tx: Tx,
  state: Loaded,
  row: StepRun,
  step: StepDefinition,
  now: Date,
): Promise<void> {
  const deadline = deadlineOf(row);
  if (isPollingWait(step) && (!deadline || now < deadline))
    return void (await moveStep(tx, state, row, 'PENDING', { wakeAt: null }));
  return timeOutWait(tx, state, row, step, now);
}

/** Claims a poll: the wait step runs its poll step's request (rendered now) on a worker. */
export async function claimPoll(
  tx: Tx,
  state: Loaded,
  row: StepRun,
  step: StepDefinition,
  context: ExpressionContext,
  opts: AdvanceOptions,
  local: boolean,
): Promise<StepClaim> {
  const target = executedStep(state.run.definition.steps, step);
  const { config } = await claimConfig(target, context);
  const attempt = row.attempt + 1;
  await moveStep(
    tx,
    state,
    row,
    'RUNNING',
    { attempt, ...claimLease(opts, local) },
    { type: 'STEP_LOG', stepId: step.id, data: { lines: [`poll: running the request of '${target.id}'`], attempt } },
  );
  return { ...buildClaim(state, state.rows.get(step.id)!, target, config, context), stepId: step.id };
}

/**
 * A poll finished: the condition is evaluated with the fresh output as `steps.<pollStep>.output`.
 * True completes the wait (output `poll`: that output); otherwise it waits for the next poll, or
 * times out. A failed poll is logged and counts as "not yet".
 */
export async function pollCompleted(
  tx: Tx,
  state: Loaded,
  row: StepRun,
  step: StepDefinition,
  outcome: StepOutcome,
  now: Date,
  timers: AdvanceResult['timers'],
): Promise<void> {
  const config = step.config as SignalWaitConfig;
  await moveStep(tx, state, row, 'WAITING', { leaseOwner: null, leaseExpiresAt: null });
  const waiting = state.rows.get(step.id)!;
  if (outcome.ok) {
    const context = expressionContextOf(state);
    const steps = context.steps as Record<string, { output: unknown }>;
    steps[config.pollStep!] = { ...steps[config.pollStep!], output: outcome.output };
    const released = await releasesOrFails(tx, state, waiting, config, null, context, now);
    if (released === 'failed') return;
    if (released)
      return complete(
        tx,
        state,
        waiting,
        { event: null, timedOut: false, conditionMet: true, poll: outcome.output ?? null },
        now,
      );
  } else {
    state.events.push({
      type: 'STEP_LOG',
      stepId: step.id,
      data: { lines: [state.redact(`poll failed: ${outcome.message}`)], attempt: row.attempt },
    });
  }
  const deadline = deadlineOf(row);
  if (deadline && now >= deadline) return timeOutWait(tx, state, waiting, step, now);
  const wakeAt = nextPollAt(config, now, deadline);
  await updateStep(tx, state, waiting, { wakeAt });
  timers.push({ stepRunId: row.id, runId: state.run.id, at: wakeAt });
}

/** The wait's timeout passed: fail, continue, or take its timeout branch (`onTimeout`). */
export async function timeOutWait(tx: Tx, state: Loaded, row: StepRun, step: StepDefinition, now: Date): Promise<void> {
  const outcome = timeoutOutcome(step.config as SignalWaitConfig, row, now);
  if (outcome.status === 'FAILED') return fail(tx, state, row, outcome.error, now);
  return complete(tx, state, row, outcome.output, now);
}
