// The run state machine, applied inside one transaction that holds the run's row lock:
// record what happened to a step (completion, failure, wake-up, interruption), then decide
// every step that can be decided now (skip, evaluate a condition, start a wait, claim a step
// for a worker), and finish the run when nothing is left. Callers commit, then publish the
// returned events and dispatch the returned claims — the database is always ahead of the
// outside world, never behind it.
import { Prisma, type StepRun } from '../generated/prisma/client.ts';
import type { StepStatus } from '../generated/prisma/enums.ts';
import type { StepDefinition, WorkflowDefinition } from '../workflows/definition.ts';
import { appendEvents, type NewEvent, type StoredEvent } from './events.ts';
import { evaluateExpression, renderTemplatesForRecord, type ExpressionContext } from './expressions.ts';
import { finalizeRun, type FinishedRun } from './finalize.ts';
import { readiness } from './graph.ts';
import { createRedactor, sensitiveValues, type Redactor } from './redact.ts';
import { backoffMs, retryPolicyOf } from './retry.ts';
import { loadSecrets } from '../secrets/service.ts';
import { isStepFinished } from './statuses.ts';
import { applySignal, bufferedEvent, claimPoll, pollCompleted, startSignalWait, storeSignal, wakeSignalWait, type SignalChange } from './signal-waits.ts';
import { branchSkipReason, isPollDue, isPollingWait, isResumeWait, isSignalWait, signalRefsOf } from './signals.ts';

type Tx = Prisma.TransactionClient;

export const TOP_LEVEL = -1;
const DEFAULT_MAX_PARALLEL_STEPS = 10;
/** An interrupted step (worker died) is retried even past its policy, but not forever. */
const EXTRA_ATTEMPTS_FOR_INTERRUPTIONS = 3;

/** Types executed by a worker (everything else is decided inside the transaction). */
export const WORKER_STEP_TYPES = new Set(['http_request', 'webhook', 'script', 'agent_task', 'loop']);

export type StepOutcome =
  | { ok: true; output: unknown }
  | { ok: false; message: string; retryable: boolean; name?: string };

export type RunChange =
  | { kind: 'completion'; stepRunId: string; attempt: number; outcome: StepOutcome; logs?: string[] }
  | { kind: 'wake'; stepRunIds: string[] }
  /** `attempts`: the attempt each step was seen at; a step already taken over since is left alone. */
  | { kind: 'reclaim'; stepRunIds: string[]; reason: string; attempts?: Record<string, number> }
  | { kind: 'resume-wait'; stepId: string; data?: unknown }
  /** An event for the run's waits (signalRun, sendEvent, a wait's token route). */
  | SignalChange
  | { kind: 'none' };

export interface StepClaim {
  stepRunId: string;
  runId: string;
  workspaceId: string;
  stepId: string;
  attempt: number;
  type: string;
  config: Record<string, unknown>;
  step: StepDefinition;
  expressionContext: ExpressionContext;
  commandAllowlist: string[];
  /** Scrubs sensitive inputs and secrets from anything recorded about this step. */
  redact: Redactor;
}

export interface AdvanceResult {
  events: StoredEvent[];
  claims: StepClaim[];
  /** Steps whose wake-up time is in the future: the engine sets a local timer as well. */
  timers: { stepRunId: string; runId: string; at: Date }[];
  finished: FinishedRun | null;
  /** Ready steps were left PENDING because this worker had no capacity left. */
  starved: boolean;
}

export interface AdvanceOptions {
  workerId: string;
  leaseMs: number;
  /**
   * In-process dispatch leases a claimed step to this process at once. With a job queue
   * (graphile-worker) the claim is a job that any worker may pick up: the lease is taken by
   * that worker when it starts the job (claim.ts), so a step waiting in the queue is never
   * mistaken for one whose worker died.
   */
  leaseOnClaim: boolean;
  /** How many more steps this worker may take on now. */
  capacity: number;
  now: Date;
  /** Decrypts workspace secrets; null when secrets are not configured. */
  secretsKey: Buffer | null;
  /** The server's public origin, for the URLs of wait tokens (`steps.<id>.signal.url`). */
  publicUrl?: string;
}

/** The run row as read under its lock (the workflow's allowlist joined in). */
interface LockedRun {
  id: string;
  workspaceId: string;
  workflowId: string | null;
  status: string;
  definition: WorkflowDefinition;
  input: unknown;
  commandAllowlist: string[] | null;
  createdAt: Date;
}

export interface Loaded {
  run: LockedRun & { commandAllowlist: string[] };
  rows: Map<string, StepRun>;
  events: NewEvent[];
  redact: Redactor;
  secrets: Record<string, string>;
  /** `steps.<id>.signal` of the run's event waits (their token URL). */
  signalRefs: Record<string, { url: string; token: string } | null>;
}

/** Locks the run row for the rest of the transaction and reads what the state machine needs. */
export async function lockAndReadRun(tx: Tx, runId: string): Promise<LockedRun | undefined> {
  const rows = await tx.$queryRaw<LockedRun[]>`
    SELECT r.id::text AS id, r."workspaceId"::text AS "workspaceId", r."workflowId"::text AS "workflowId", r.status::text AS status,
           r.definition, r.input, w."commandAllowlist" AS "commandAllowlist", r."createdAt" AS "createdAt"
    FROM "Run" r LEFT JOIN "Workflow" w ON w.id = r."workflowId"
    WHERE r.id = ${runId}::uuid
    FOR UPDATE OF r`;
  return rows[0];
}

function errorJson(message: string, extra: Record<string, unknown> = {}) {
  return { message, ...extra };
}

function stepById(definition: WorkflowDefinition, stepId: string): StepDefinition | undefined {
  return definition.steps.find((s) => s.id === stepId);
}

export function expressionContextOf(state: Pick<Loaded, 'run' | 'rows' | 'secrets'> & { signalRefs?: Loaded['signalRefs'] }): ExpressionContext {
  const steps: Record<string, { output: unknown; status: StepStatus; signal?: unknown }> = {};
  for (const row of state.rows.values()) if (row.iteration === TOP_LEVEL) steps[row.stepId] = { output: row.output ?? null, status: row.status };
  for (const [id, signal] of Object.entries(state.signalRefs ?? {})) if (steps[id]) steps[id].signal = signal;
  return { input: state.run.input ?? {}, steps, run: { id: state.run.id, workflowId: state.run.workflowId }, secrets: state.secrets };
}

export async function setStep(tx: Tx, state: Loaded, row: StepRun, data: Prisma.StepRunUpdateInput): Promise<void> {
  const updated = await tx.stepRun.update({ where: { id: row.id }, data });
  state.rows.set(updated.stepId, updated);
}

async function applyCompletion(tx: Tx, state: Loaded, change: Extract<RunChange, { kind: 'completion' }>, opts: AdvanceOptions, timers: AdvanceResult['timers']): Promise<void> {
    const row = [...state.rows.values()].find((r) => r.id === change.stepRunId);
    // A completion is recorded only by the worker that holds the step's current attempt:
    // a late result after cancellation, reclaim or another worker's retry is dropped, so a
    // step is never recorded twice.
    if (!row || row.status !== 'RUNNING' || row.attempt !== change.attempt || row.leaseOwner !== opts.workerId) return;
    const step = stepById(state.run.definition, row.stepId);
    if (isPollingWait(step)) return pollCompleted(tx, state, row, step!, change.outcome, opts.now, timers);
    const base = { leaseOwner: null, leaseExpiresAt: null };
    const durationMs = row.startedAt ? opts.now.getTime() - row.startedAt.getTime() : null;
    if (change.logs?.length) {
      const lines = change.logs.map((line) => state.redact(line));
      await setStep(tx, state, row, { logs: `${row.logs}${lines.join('\n')}\n` });
      state.events.push({ type: 'STEP_LOG', stepId: row.stepId, data: { lines, attempt: row.attempt } });
    }
    if (change.outcome.ok) {
      const output = state.redact(change.outcome.output ?? null);
      await setStep(tx, state, row, { ...base, status: 'COMPLETED', output: output as Prisma.InputJsonValue, error: Prisma.DbNull, finishedAt: opts.now });
      state.events.push({ type: 'STEP_COMPLETED', stepId: row.stepId, data: { output, attempt: row.attempt, durationMs } });
      return;
    }
    const policy = retryPolicyOf(step ?? {});
    const error = errorJson(state.redact(change.outcome.message), { name: change.outcome.name ?? 'Error', attempt: row.attempt, retryable: change.outcome.retryable });
    if (change.outcome.retryable && row.attempt < policy.attempts) {
      const wakeAt = new Date(opts.now.getTime() + backoffMs(policy, row.attempt + 1));
      await setStep(tx, state, row, { ...base, status: 'RETRYING', error, wakeAt });
      state.events.push({ type: 'STEP_RETRYING', stepId: row.stepId, data: { error, attempt: row.attempt, nextAttempt: row.attempt + 1, nextAttemptAt: wakeAt.toISOString() } });
      timers.push({ stepRunId: row.id, runId: row.runId, at: wakeAt });
      return;
    }
    await setStep(tx, state, row, { ...base, status: 'FAILED', error, finishedAt: opts.now });
    state.events.push({ type: 'STEP_FAILED', stepId: row.stepId, data: { error, attempt: row.attempt, durationMs } });
}

async function applyChange(tx: Tx, state: Loaded, change: RunChange, opts: AdvanceOptions, timers: AdvanceResult['timers']): Promise<void> {
  switch (change.kind) {
    case 'none':
      return;
    case 'completion':
      await applyCompletion(tx, state, change, opts, timers);
      return;
    case 'wake':
      for (const row of [...state.rows.values()].filter((r) => change.stepRunIds.includes(r.id))) {
        if (!row.wakeAt || row.wakeAt > opts.now) continue;
        if (row.status === 'RETRYING') await setStep(tx, state, row, { status: 'PENDING', wakeAt: null });
        else if (row.status === 'WAITING' && isSignalWait(stepById(state.run.definition, row.stepId))) await wakeSignalWait(tx, state, row, stepById(state.run.definition, row.stepId)!, opts.now);
        else if (row.status === 'WAITING') {
          await setStep(tx, state, row, { status: 'COMPLETED', wakeAt: null, output: { waitedUntil: row.wakeAt.toISOString() }, finishedAt: opts.now });
          state.events.push({ type: 'STEP_COMPLETED', stepId: row.stepId, data: { output: { waitedUntil: row.wakeAt.toISOString() }, attempt: row.attempt } });
        }
      }
      return;
    case 'reclaim':
      for (const row of [...state.rows.values()].filter((r) => change.stepRunIds.includes(r.id) && r.status === 'RUNNING' && (change.attempts?.[r.id] ?? r.attempt) === r.attempt)) {
        const policy = retryPolicyOf(stepById(state.run.definition, row.stepId) ?? {});
        if (row.attempt >= policy.attempts + EXTRA_ATTEMPTS_FOR_INTERRUPTIONS) {
          const error = errorJson(`Step was interrupted ${row.attempt} times (${change.reason}); giving up`, { name: 'InterruptedError', attempt: row.attempt });
          await setStep(tx, state, row, { status: 'FAILED', error, leaseOwner: null, leaseExpiresAt: null, finishedAt: opts.now });
          state.events.push({ type: 'STEP_FAILED', stepId: row.stepId, data: { error, attempt: row.attempt } });
        } else {
          await setStep(tx, state, row, { status: 'PENDING', leaseOwner: null, leaseExpiresAt: null });
          state.events.push({ type: 'STEP_RETRYING', stepId: row.stepId, data: { reason: change.reason, attempt: row.attempt, nextAttempt: row.attempt + 1 } });
        }
      }
      return;
    case 'signal':
      await applySignal(tx, state, change, opts.now);
      return;
    case 'resume-wait': {
      const row = state.rows.get(change.stepId);
      if (row?.status === 'WAITING') {
        const output = { resumedAt: opts.now.toISOString(), data: change.data ?? null };
        await setStep(tx, state, row, { status: 'COMPLETED', wakeAt: null, output: output as Prisma.InputJsonValue, finishedAt: opts.now });
        state.events.push({ type: 'STEP_COMPLETED', stepId: row.stepId, data: { output, attempt: row.attempt } });
      }
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
async function decideSteps(tx: Tx, state: Loaded, opts: AdvanceOptions, result: AdvanceResult): Promise<{ paused: boolean }> {
  const { definition } = state.run;
  const maxParallel = typeof definition.maxParallelSteps === 'number' ? definition.maxParallelSteps : DEFAULT_MAX_PARALLEL_STEPS;
  let capacity = opts.capacity;
  let paused = false;
  const stepsById = new Map(definition.steps.map((s) => [s.id, s]));
  for (let changed = true; changed; ) {
    changed = false;
    const statusOf = (id: string) => state.rows.get(id)?.status;
    let running = [...state.rows.values()].filter((r) => r.status === 'RUNNING').length;
    for (const step of definition.steps) {
      const row = state.rows.get(step.id);
      if (!row || row.status !== 'PENDING') continue;
      const ready = readiness(step, statusOf);
      if (ready === 'WAIT') continue;
      if (ready === 'SKIP' || ready === 'BLOCKED') {
        const reason = ready === 'SKIP' ? 'all dependencies were skipped' : 'a dependency failed or was cancelled';
        await setStep(tx, state, row, { status: 'SKIPPED', finishedAt: opts.now, error: ready === 'BLOCKED' ? { message: reason } : undefined });
        state.events.push({ type: 'STEP_SKIPPED', stepId: step.id, data: { reason } });
        changed = true;
        continue;
      }
      const context = expressionContextOf(state);
      const branchSkip = branchSkipReason(step, stepsById, (id) => state.rows.get(id)?.output ?? null);
      if (branchSkip) {
        await setStep(tx, state, row, { status: 'SKIPPED', finishedAt: opts.now });
        state.events.push({ type: 'STEP_SKIPPED', stepId: step.id, data: { reason: branchSkip } });
        changed = true;
        continue;
      }
      try {
        if (typeof step.when === 'string' && !(await evaluateExpression(step.when, context))) {
          await setStep(tx, state, row, { status: 'SKIPPED', finishedAt: opts.now });
          state.events.push({ type: 'STEP_SKIPPED', stepId: step.id, data: { reason: `when is false: ${step.when}` } });
          changed = true;
          continue;
        }
        if (step.type === 'condition') {
          const value = await evaluateExpression(String((step.config ?? {}).expression ?? ''), context);
          const output = { result: value ?? null };
          await setStep(tx, state, row, { status: 'COMPLETED', attempt: row.attempt + 1, startedAt: opts.now, finishedAt: opts.now, output: state.redact(output) as Prisma.InputJsonValue });
          state.events.push({ type: 'STEP_STARTED', stepId: step.id, data: { attempt: row.attempt + 1 } }, { type: 'STEP_COMPLETED', stepId: step.id, data: { output: state.redact(output), attempt: row.attempt + 1, durationMs: 0 } });
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
          await setStep(tx, state, row, { status: 'WAITING', attempt: row.attempt + 1, startedAt: opts.now, wakeAt: until, input: state.redact(recorded) as Prisma.InputJsonValue });
          state.events.push({ type: 'STEP_WAITING', stepId: step.id, data: until ? { until: until.toISOString() } : { untilResumed: true } });
          if (until) result.timers.push({ stepRunId: row.id, runId: state.run.id, at: until });
          else paused = true;
          changed = true;
          continue;
        }
        if (!WORKER_STEP_TYPES.has(step.type) && !isPollDue(row, step)) throw new Error(`Unknown step type ${step.type}`);
        if (running >= maxParallel) continue;
        if (capacity <= 0) {
          result.starved = true;
          continue;
        }
        if (isPollDue(row, step)) {
          result.claims.push(await claimPoll(tx, state, row, step, context, opts));
          running++;
          capacity--;
          changed = true;
          continue;
        }
        const { config, recorded } = await claimConfig(step, context);
        const attempt = row.attempt + 1;
        await setStep(tx, state, row, {
          status: 'RUNNING',
          attempt,
          startedAt: opts.now,
          finishedAt: null,
          error: Prisma.DbNull,
          input: state.redact(recorded) as Prisma.InputJsonValue,
          leaseOwner: opts.leaseOnClaim ? opts.workerId : null,
          leaseExpiresAt: opts.leaseOnClaim ? new Date(opts.now.getTime() + opts.leaseMs) : null,
        });
        state.events.push({ type: 'STEP_STARTED', stepId: step.id, data: { attempt, input: state.redact(recorded) } });
        result.claims.push(buildClaim(state, state.rows.get(step.id)!, step, config, context));
        running++;
        capacity--;
        changed = true;
      } catch (error) {
        // Expression and config errors cannot be fixed by retrying.
        const failure = errorJson(state.redact((error as Error).message), { name: 'ExpressionError', attempt: row.attempt + 1, retryable: false });
        await setStep(tx, state, row, { status: 'FAILED', attempt: row.attempt + 1, startedAt: opts.now, finishedAt: opts.now, error: failure });
        state.events.push({ type: 'STEP_FAILED', stepId: step.id, data: { error: failure, attempt: row.attempt + 1 } });
        changed = true;
      }
    }
  }
  return { paused };
}

/** Some step still waits for resumeRun (a wait for an event or a condition does not pause the run). */
function allRowsWaitingForResume(state: Loaded): boolean {
  return [...state.rows.values()].some((r) => r.status === 'WAITING' && r.wakeAt === null && isResumeWait(stepById(state.run.definition, r.stepId)));
}

/**
 * Locks the run row and reads its top-level steps, secrets and redactor. Undefined when the run
 * is gone or no longer active (a PAUSED run still records its other steps' results).
 */
export async function loadRunState(tx: Tx, runId: string, secretsKey: Buffer | null, publicUrl = ''): Promise<Loaded | undefined> {
  const run = await lockAndReadRun(tx, runId);
  if (!run || (run.status !== 'RUNNING' && run.status !== 'PAUSED')) return undefined;
  const definition = run.definition;
  const rows = await tx.stepRun.findMany({ where: { runId, iteration: TOP_LEVEL } });
  // Secrets are decrypted only for runs whose definition refers to them.
  const secrets = JSON.stringify(definition).includes('secrets.') ? await loadSecrets(tx, run.workspaceId, secretsKey) : {};
  const signalRefs = signalRefsOf(definition.steps, run.id, secretsKey, publicUrl);
  return {
    run: { ...run, definition, commandAllowlist: run.commandAllowlist ?? [] },
    rows: new Map(rows.map((r) => [r.stepId, r])),
    events: [],
    // Every secret, however short (setSecret refuses new ones under 8 characters; older ones are
    // still hidden, at the price of over-redaction, rather than shown).
    // Wait tokens too: they are credentials, whatever step their URL is rendered into.
    redact: createRedactor([...sensitiveValues(definition.inputSchema, run.input), ...Object.values(secrets), ...Object.values(signalRefs).flatMap((r) => (r ? [r.token] : []))]),
    secrets,
    signalRefs,
  };
}

/**
 * The config a worker executes, templates rendered (a loop renders per item, later), and the copy
 * to record, in which values computed from secrets are redacted as a whole.
 */
export async function claimConfig(step: StepDefinition, context: ExpressionContext): Promise<{ config: Record<string, unknown>; recorded: Record<string, unknown> }> {
  if (step.type === 'loop') return { config: step.config ?? {}, recorded: step.config ?? {} };
  const { value, recorded } = await renderTemplatesForRecord(step.config ?? {}, context);
  return { config: value as Record<string, unknown>, recorded: recorded as Record<string, unknown> };
}

/** Everything a worker needs to execute one attempt of a claimed step. */
export function buildClaim(state: Loaded, row: StepRun, step: StepDefinition, config: Record<string, unknown>, context: ExpressionContext): StepClaim {
  return { stepRunId: row.id, runId: state.run.id, workspaceId: state.run.workspaceId, stepId: step.id, attempt: row.attempt, type: step.type, config, step, expressionContext: context, commandAllowlist: state.run.commandAllowlist, redact: state.redact };
}

/**
 * Applies `change` to the run and moves it as far forward as possible. Must run inside a
 * transaction; locks the run row first so concurrent advances of one run serialise.
 */
export async function advanceRun(tx: Tx, runId: string, change: RunChange, opts: AdvanceOptions): Promise<AdvanceResult> {
  const result: AdvanceResult = { events: [], claims: [], timers: [], finished: null, starved: false };
  // A new signal is stored under the run's lock, whatever the run's status: a QUEUED run's waits
  // receive it when they start.
  if (change.kind === 'signal' && change.send) {
    if (!(await lockAndReadRun(tx, runId))) return result;
    // A token's signal is for its one step: stored only if that step is still waiting for it.
    if (change.stepId && !(await tx.stepRun.findFirst({ where: { runId, stepId: change.stepId, iteration: TOP_LEVEL, status: 'WAITING' }, select: { id: true } }))) return result;
    change = { ...change, signalId: await storeSignal(tx, runId, change.send) };
  }
  const state = await loadRunState(tx, runId, opts.secretsKey, opts.publicUrl);
  if (!state) {
    // A QUEUED run keeps the signal for its waits; the log says it arrived.
    if (change.kind === 'signal' && change.send) result.events = await appendEvents(tx, { id: runId, workspaceId: change.send.workspaceId }, [bufferedEvent(change.signalId!, change.send)]);
    return result;
  }
  const run = state.run;

  await applyChange(tx, state, change, opts, result.timers);
  let status = run.status;
  if (change.kind === 'resume-wait' && status === 'PAUSED' && !allRowsWaitingForResume(state)) {
    await tx.run.update({ where: { id: runId }, data: { status: 'RUNNING' } });
    state.events.push({ type: 'RUN_RESUMED', data: { stepId: change.stepId } });
    status = 'RUNNING';
  }
  const { paused } = await decideSteps(tx, state, opts, result);

  const allRows = [...state.rows.values()];
  if (allRows.every((r) => isStepFinished(r.status))) {
    result.finished = await finalizeRun(tx, state.run, allRows, state.redact, state.events, opts.now);
  } else if (paused && status === 'RUNNING') {
    await tx.run.update({ where: { id: runId }, data: { status: 'PAUSED' } });
    state.events.push({ type: 'RUN_PAUSED', data: { reason: 'waiting to be resumed' } });
  }
  result.events = await appendEvents(tx, state.run, state.events);
  return result;
}
