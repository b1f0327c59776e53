// Waits for an event or a condition (docs/definition.md, `wait`). Everything here runs inside
// advanceRun's transaction, under the run's row lock, so a delivery is all or nothing: the signal
// is marked as delivered to the run, the step completes and the run event is appended in one
// commit, or none of it happens.
//
// Buffering: every signal is stored (Signal) until it expires. A wait that starts later takes the
// oldest matching signal it has not yet received: one sent to its run (signalRun), or one sent to
// the workspace (sendEvent) after the run was created. A signal is delivered at most once per run
// (SignalDelivery's key), so two waits for the same event in one run need two signals.
import { createHash, createHmac } from 'node:crypto';
import type { PrismaClient } from '../db/client.ts';
import type { Prisma, StepRun } from '../generated/prisma/client.ts';
import type { StepDefinition } from '../workflows/definition.ts';
import type { OnTimeout, SignalWaitConfig } from '../workflows/wait-config.ts';
import { evaluateExpression, type ExpressionContext } from './expressions.ts';
import type { NewEvent } from '../events/log.ts';
import { SIGNAL_RECEIVING_STEP, TOP_LEVEL } from './statuses.ts';

type Tx = Prisma.TransactionClient;

export const SIGNAL_SOURCES = ['SIGNAL_RUN', 'SEND_EVENT', 'WAIT_TOKEN'] as const;
export type SignalSource = (typeof SIGNAL_SOURCES)[number];

export interface StoredSignal {
  id: string;
  name: string;
  payload: unknown;
  source: string;
  createdAt: Date;
}

/** Where a wait's token route lives (the URL a run can put in an e-mail). */
export const WAIT_TOKEN_ROUTE = '/hooks/signals/';

/** True for the waits this module handles (an event or a condition), not durations or resume. */
export function isSignalWait(step: Pick<StepDefinition, 'type' | 'config'> | undefined): boolean {
  const config = step?.config ?? {};
  return step?.type === 'wait' && (typeof config.event === 'string' || typeof config.condition === 'string');
}

/** A condition wait that re-runs an http_request step's request every `pollSeconds`. */
export function isPollingWait(step: Pick<StepDefinition, 'type' | 'config'> | undefined): boolean {
  const config = step?.config ?? {};
  return (
    step?.type === 'wait' &&
    typeof config.condition === 'string' &&
    typeof config.pollStep === 'string' &&
    typeof config.pollSeconds === 'number'
  );
}

/**
 * A polling wait whose row is PENDING after it started: its wake-up handed it back to be claimed
 * for its next poll (a fresh start has no startedAt: resumeRun and retries clear it).
 */
export function isPollDue(row: Pick<StepRun, 'status' | 'startedAt'>, step: StepDefinition): boolean {
  return row.status === 'PENDING' && row.startedAt !== null && isPollingWait(step);
}

/** The step a claim of `step` executes: a polling wait runs its poll step's request. */
export function executedStep(steps: StepDefinition[], step: StepDefinition): StepDefinition {
  return isPollingWait(step) ? (steps.find((s) => s.id === step.config.pollStep) ?? step) : step;
}

/** The deadline recorded when a signal wait started (its input's `timeoutAt`). */
export function deadlineOf(row: Pick<StepRun, 'input'>): Date | null {
  const at = (row.input as { timeoutAt?: unknown } | null)?.timeoutAt;
  return typeof at === 'string' ? new Date(at) : null;
}

/** The next poll: `pollSeconds` from now, but never past the deadline. */
export function nextPollAt(config: SignalWaitConfig, now: Date, deadline: Date | null): Date {
  const next = new Date(now.getTime() + (config.pollSeconds ?? 0) * 1000);
  return deadline && deadline < next ? deadline : next;
}

/** A wait that pauses the run until resumeRun (`resume: true`). */
export function isResumeWait(step: Pick<StepDefinition, 'type' | 'config'> | undefined): boolean {
  return step?.type === 'wait' && step.config?.resume === true;
}

// ── Tokens ────────────────────────────────────────────────────────────────────────────────

/**
 * A wait step's token is derived from the server's secrets key, the run and the step, so that it
 * exists from the run's start (an earlier step can e-mail the link) without being stored: the
 * database keeps only its SHA-256 (WaitToken), written when the step starts waiting. Without a
 * secrets key there are no tokens (secure by default: nothing guessable is ever accepted).
 */
export function waitToken(secretsKey: Buffer | null, runId: string, stepId: string): string | null {
  if (!secretsKey) return null;
  const key = createHmac('sha256', secretsKey).update('weft wait-token key v1').digest();
  return createHmac('sha256', key).update(`${runId}\0${stepId}`).digest('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** `steps.<id>.signal` of every event wait: `{ url, token }` (null without a secrets key). */
export function signalRefsOf(
  steps: StepDefinition[],
  runId: string,
  secretsKey: Buffer | null,
  publicUrl: string,
): Record<string, { url: string; token: string } | null> {
  const refs: Record<string, { url: string; token: string } | null> = {};
  for (const step of steps) {
    if (!isSignalWait(step) || typeof step.config.event !== 'string') continue;
    const token = waitToken(secretsKey, runId, step.id);
    refs[step.id] = token ? { url: `${publicUrl.replace(/\/+$/, '')}${WAIT_TOKEN_ROUTE}${token}`, token } : null;
  }
  return refs;
}

// ── Starting, releasing and timing out ────────────────────────────────────────────────────

export interface WaitRun {
  id: string;
  workspaceId: string;
  createdAt: Date;
}

/** The step's output when an event released it: the event itself. */
export function eventOutput(signal: StoredSignal): Record<string, unknown> {
  return {
    event: {
      id: signal.id,
      name: signal.name,
      payload: signal.payload ?? null,
      source: signal.source,
      receivedAt: signal.createdAt.toISOString(),
    },
    timedOut: false,
  };
}

/** Does this signal release this wait? Event name and `match` for event waits; the condition otherwise. */
export async function releases(
  config: SignalWaitConfig,
  signal: StoredSignal | null,
  context: ExpressionContext,
): Promise<boolean> {
  const event = signal ? { name: signal.name, payload: signal.payload ?? null, source: signal.source } : null;
  const scope = { ...context, event, payload: event?.payload ?? null };
  if (typeof config.event === 'string') {
    if (!signal || signal.name !== config.event) return false;
    return typeof config.match === 'string' ? !!(await evaluateExpression(config.match, scope)) : true;
  }
  return typeof config.condition === 'string' ? !!(await evaluateExpression(config.condition, scope)) : false;
}

/**
 * Signals this run has not received yet, oldest first: sent to the run, or to its workspace after
 * the run was created. Expired ones are ignored (and deleted by the maintenance pass).
 */
export async function pendingSignals(tx: Tx, run: WaitRun, name: string, now: Date): Promise<StoredSignal[]> {
  return tx.signal.findMany({
    where: {
      workspaceId: run.workspaceId,
      name,
      expiresAt: { gt: now },
      OR: [{ runId: run.id }, { runId: null, createdAt: { gte: run.createdAt } }],
      deliveries: { none: { runId: run.id } },
    },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: 100,
    select: { id: true, name: true, payload: true, source: true, createdAt: true },
  });
}

/** Records that `signal` was delivered to `stepId` (at most once per run: the key says so). */
export async function recordDelivery(
  tx: Tx,
  runId: string,
  stepId: string,
  signal: StoredSignal,
  events: NewEvent[],
): Promise<void> {
  await tx.signalDelivery.create({ data: { signalId: signal.id, runId, stepId } });
  events.push({
    type: 'SIGNAL_DELIVERED',
    stepId,
    data: { signalId: signal.id, name: signal.name, source: signal.source },
  });
}

/** The deadline of a signal wait, from its rendered `timeoutSeconds` (null: none). */
export function timeoutAt(rendered: Record<string, unknown>, startedAt: Date): Date | null | Error {
  const seconds = rendered.timeoutSeconds;
  if (seconds === undefined || seconds === null) return null;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
    return new Error(`wait.timeoutSeconds must be a non-negative number of seconds, got ${JSON.stringify(seconds)}`);
  return new Date(startedAt.getTime() + seconds * 1000);
}

export type TimeoutOutcome =
  | { status: 'FAILED'; error: Record<string, unknown> }
  | { status: 'COMPLETED'; output: Record<string, unknown> };

/** What a signal wait becomes when its timeout passes (`onTimeout`, default "fail"). */
export function timeoutOutcome(
  config: SignalWaitConfig,
  row: Pick<StepRun, 'startedAt' | 'attempt'>,
  now: Date,
): TimeoutOutcome {
  const onTimeout: OnTimeout = config.onTimeout ?? 'fail';
  const what = typeof config.event === 'string' ? `event '${config.event}'` : 'its condition';
  const waited = row.startedAt ? Math.round((now.getTime() - row.startedAt.getTime()) / 1000) : 0;
  if (onTimeout === 'fail')
    return {
      status: 'FAILED',
      error: {
        message: `Timed out after ${waited} s waiting for ${what}`,
        name: 'WaitTimeoutError',
        attempt: row.attempt,
        retryable: false,
      },
    };
  return {
    status: 'COMPLETED',
    output: { event: null, timedOut: true, ...(typeof onTimeout === 'object' ? { branch: onTimeout.branch } : {}) },
  };
}

/**
 * A step after a wait with a timeout branch: the branch runs only when the wait timed out, its
 * other dependents only when it did not. Returns why the step is skipped, or null.
 */
export function branchSkipReason(
  step: StepDefinition,
  stepsById: Map<string, StepDefinition>,
  outputOf: (id: string) => unknown,
): string | null {
  for (const dep of step.dependsOn ?? []) {
    const wait = stepsById.get(dep);
    const onTimeout = wait?.type === 'wait' ? (wait.config as SignalWaitConfig).onTimeout : undefined;
    if (typeof onTimeout !== 'object' || !onTimeout) continue;
    const timedOut = (outputOf(dep) as { timedOut?: unknown } | null)?.timedOut === true;
    if (timedOut && step.id !== onTimeout.branch)
      return `'${dep}' timed out: only its timeout branch '${onTimeout.branch}' runs`;
    if (!timedOut && step.id === onTimeout.branch)
      return `'${dep}' was released before its timeout: its timeout branch does not run`;
  }
  return null;
}

/** Upserts the hashed token of an event wait that starts waiting (re-armed when the step waits again). */
export async function armToken(tx: Tx, run: WaitRun, stepId: string, secretsKey: Buffer | null): Promise<void> {
  const token = waitToken(secretsKey, run.id, stepId);
  if (!token) return;
  const tokenHash = hashToken(token);
  await tx.waitToken.upsert({
    where: { runId_stepId: { runId: run.id, stepId } },
    create: { tokenHash, workspaceId: run.workspaceId, runId: run.id, stepId },
    update: { tokenHash, usedAt: null },
  });
}

/**
 * Offers a workspace event to every run with a waiting wait step, one run (one transaction) at a
 * time, then marks it fanned out. A crash in between leaves fannedOutAt empty and the engine's
 * maintenance pass offers it again: delivery is recorded per run, so no run receives it twice.
 */
export async function fanOutSignal(
  prisma: PrismaClient,
  advance: (runId: string, change: { kind: 'signal'; signalId: string }) => Promise<unknown>,
  signal: { id: string; workspaceId: string },
): Promise<number> {
  // PENDING waits too: one starting in a transaction that read the pending signals before this
  // one committed would otherwise miss it; advancing its run waits for that transaction (run lock).
  const rows = await prisma.stepRun.findMany({
    where: {
      workspaceId: signal.workspaceId,
      status: { in: [...SIGNAL_RECEIVING_STEP] },
      type: 'wait',
      iteration: TOP_LEVEL,
    },
    select: { runId: true },
    distinct: ['runId'],
  });
  for (const { runId } of rows) await advance(runId, { kind: 'signal', signalId: signal.id });
  await prisma.signal.update({ where: { id: signal.id }, data: { fannedOutAt: new Date() } });
  return rows.length;
}

export interface NewSignal {
  workspaceId: string;
  name: string;
  payload: unknown;
  source: 'SIGNAL_RUN' | 'WAIT_TOKEN';
  expiresAt: Date;
}

export interface SignalChange {
  kind: 'signal';
  /** A signal already stored (a workspace event being fanned out). */
  signalId?: string;
  /** A new signal for this run, stored in the same transaction as its delivery. */
  send?: NewSignal;
  /** Only this step may take it (a wait's token route): `match` is not applied, the token is the match. */
  stepId?: string;
}
