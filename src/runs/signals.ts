// Sending events to waiting runs: signalRun (one run), sendEvent (every run of the workspace) and
// a wait step's token route (one waiting step). The signal is stored and delivered by the engine
// in one transaction under the run's lock (engine/signal-waits.ts), so it is either delivered and
// recorded, or buffered for a later wait — never half of either.
import type { PrismaClient } from '../db/client.ts';
import type { AdvanceResult } from '../engine/run-state.ts';
import { isRunFinished, TOP_LEVEL } from '../engine/statuses.ts';
import { fanOutSignal, hashToken } from '../engine/signals.ts';
import type { EngineHandle, ServiceScope } from '../scope.ts';
import { ConflictError, NotFoundError, ValidationError, type Problem } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { WorkflowDefinition } from '../workflows/definition.ts';
import { EVENT_NAME_PATTERN } from '../workflows/wait-config.ts';
import { inWorkspace } from '../ids.ts';

/** How long a signal nobody has taken yet is kept for a wait that starts later (default). */
export const DEFAULT_RETAIN_SECONDS = 7 * 24 * 3600;
export const MAX_RETAIN_SECONDS = 31 * 24 * 3600;

export interface SignalInput {
  name: string;
  payload?: unknown;
  retainSeconds?: number | null;
}

function checkSignal(input: SignalInput): Problem[] {
  const problems: Problem[] = [];
  if (!new RegExp(EVENT_NAME_PATTERN).test(input.name))
    problems.push({ path: ['input', 'name'], message: 'must be an event name (1–200 letters, digits and _ . : / -)' });
  const retain = input.retainSeconds;
  if (retain != null && !(Number.isInteger(retain) && retain >= 0 && retain <= MAX_RETAIN_SECONDS))
    problems.push({ path: ['input', 'retainSeconds'], message: `must be an integer from 0 to ${MAX_RETAIN_SECONDS}` });
  return problems;
}

const expiresAt = (input: SignalInput) => new Date(Date.now() + (input.retainSeconds ?? DEFAULT_RETAIN_SECONDS) * 1000);

/** The steps a signal was delivered to, read from the events the delivery appended. */
function deliveredSteps(result: unknown): string[] {
  return ((result as AdvanceResult | undefined)?.events ?? [])
    .filter((e) => e.type === 'SIGNAL_DELIVERED' && e.stepId)
    .map((e) => e.stepId!);
}

/** Sends an event to one run: a waiting step takes it now, or it waits (buffered) for one that starts later. */
export async function signalRun(scope: ServiceScope, runId: string, input: SignalInput) {
  const problems = checkSignal(input);
  if (problems.length) throw new ValidationError(problems);
  const run = await scope.prisma.run.findFirst({ where: inWorkspace(runId, scope), select: { status: true } });
  if (!run) throw new NotFoundError('Run', runId);
  if (isRunFinished(run.status))
    throw new ConflictError(`Run is ${run.status}; only unfinished runs can receive events.`, { status: run.status });
  const result = await scope.engine.advance(runId, {
    kind: 'signal',
    send: {
      workspaceId: scope.workspaceId,
      name: input.name,
      payload: input.payload ?? null,
      source: 'SIGNAL_RUN',
      expiresAt: expiresAt(input),
    },
  });
  const deliveredTo = deliveredSteps(result);
  return {
    run: await scope.prisma.run.findUniqueOrThrow({ where: { id: runId } }),
    deliveredTo,
    buffered: deliveredTo.length === 0,
  };
}

/** Sends an event to the workspace: every run waiting for it (name and match) is released. */
export async function sendEvent(scope: ServiceScope, input: SignalInput) {
  const problems = checkSignal(input);
  if (problems.length) throw new ValidationError(problems);
  const signal = await scope.prisma.signal.create({
    data: {
      workspaceId: scope.workspaceId,
      runId: null,
      name: input.name,
      payload: (input.payload ?? Prisma.DbNull) as Prisma.InputJsonValue,
      source: 'SEND_EVENT',
      expiresAt: expiresAt(input),
    },
    select: { id: true, workspaceId: true },
  });
  await fanOutSignal(scope.prisma, (runId, change) => scope.engine.advance(runId, change), signal);
  const deliveries = await scope.prisma.signalDelivery.findMany({
    where: { signalId: signal.id },
    select: { runId: true, stepId: true },
    orderBy: { deliveredAt: 'asc' },
  });
  return { signalId: signal.id, deliveries };
}

export type TokenDelivery =
  | { ok: true; runId: string; stepId: string }
  | { ok: false; code: 'NOT_FOUND' | 'CONFLICT'; message: string };

/**
 * The token route: releases the one waiting step the token belongs to, with `payload` as the
 * event's payload. 404 for a token that is unknown or was already used, 409 when its step is not
 * waiting (timed out, cancelled, not started yet).
 */
export async function deliverByToken(
  prisma: PrismaClient,
  engine: EngineHandle,
  token: string,
  payload: unknown,
): Promise<TokenDelivery> {
  const row = await prisma.waitToken.findUnique({ where: { tokenHash: hashToken(token) } });
  if (!row || row.usedAt) return { ok: false, code: 'NOT_FOUND', message: 'Unknown or already used wait token' };
  const run = await prisma.run.findUnique({ where: { id: row.runId }, select: { definition: true } });
  const step = (run?.definition as WorkflowDefinition | undefined)?.steps.find((s) => s.id === row.stepId);
  const stepRun = await prisma.stepRun.findFirst({
    where: { runId: row.runId, stepId: row.stepId, iteration: TOP_LEVEL },
    select: { status: true },
  });
  const notWaiting = (status: string) => ({
    ok: false as const,
    code: 'CONFLICT' as const,
    message: `Step '${row.stepId}' is not waiting (it is ${status})`,
  });
  if (!step || typeof step.config.event !== 'string' || stepRun?.status !== 'WAITING')
    return notWaiting(stepRun?.status ?? 'gone');
  const result = await engine.advance(row.runId, {
    kind: 'signal',
    stepId: row.stepId,
    send: {
      workspaceId: row.workspaceId,
      name: step.config.event,
      payload,
      source: 'WAIT_TOKEN',
      expiresAt: new Date(Date.now() + DEFAULT_RETAIN_SECONDS * 1000),
    },
  });
  // Delivered only if this very advance delivered it: two requests racing with one token both
  // pass the checks above, and the second must not be told its payload was taken.
  if (deliveredSteps(result).includes(row.stepId)) return { ok: true, runId: row.runId, stepId: row.stepId };
  const after = await prisma.waitToken.findUnique({ where: { tokenHash: row.tokenHash }, select: { usedAt: true } });
  return after?.usedAt
    ? { ok: false, code: 'NOT_FOUND', message: 'Unknown or already used wait token' }
    : notWaiting('no longer waiting');
}
