// The loop step: evaluates its items, then runs its inner step once per item with bounded
// concurrency. Each iteration is its own StepRun row (iteration = index), so a loop that is
// interrupted or retried re-runs only the iterations that did not complete.
import type { PrismaClient } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { StepStatus } from '../generated/prisma/enums.ts';
import type { StepClaim } from './run-state.ts';
import type { EventBus, NewEvent } from '../events/log.ts';
import { coerceError } from '../errors.ts';
import { moveIteration, resetIterations, type IterationData } from './transitions.ts';
import { evaluateExpression, renderTemplates } from './expressions.ts';
import { backoffMs, retryPolicyOf, timeoutMsOf } from './retry.ts';
import { stepHandlers } from './steps/registry.ts';
import { NonRetriableError, type StepContext } from './steps/types.ts';
import { inChildSpan } from '../observability/scope.ts';

export const LOOP_DEFAULT_MAX_ITEMS = 1000;
export const LOOP_HARD_MAX_ITEMS = 10_000;

interface LoopDeps {
  prisma: PrismaClient;
  bus: EventBus;
  now: () => Date;
}

interface InnerStep {
  type: string;
  config?: Record<string, unknown>;
  retry?: unknown;
  timeoutSeconds?: number;
}

function clampInt(value: unknown, fallback: number, min: number, max: number): number {
  return typeof value === 'number' && Number.isFinite(value)
    ? Math.min(max, Math.max(min, Math.floor(value)))
    : fallback;
}

interface Iteration {
  id: string;
  index: number;
  attempt: number;
  /** When its next attempt may start (a retry's backoff), or null for now. */
  wakeAt: Date | null;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    if (ms <= 0) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}

export async function runLoop(ctx: StepContext, claim: StepClaim, deps: LoopDeps): Promise<unknown[]> {
  const config = claim.config;
  const items = await evaluateExpression(String(config.items ?? ''), claim.expressionContext);
  if (!Array.isArray(items))
    throw new NonRetriableError(`loop.items must evaluate to a list, got ${items === null ? 'null' : typeof items}`);
  const maxItems = clampInt(config.maxItems, LOOP_DEFAULT_MAX_ITEMS, 1, LOOP_HARD_MAX_ITEMS);
  if (items.length > maxItems)
    throw new NonRetriableError(`loop has ${items.length} items, more than maxItems ${maxItems}`);
  const inner = config.step as InnerStep | undefined;
  const handler = inner ? stepHandlers[inner.type as keyof typeof stepHandlers] : undefined;
  if (!inner || !handler)
    throw new NonRetriableError(`loop.step.type must be one of ${Object.keys(stepHandlers).join(', ')}`);
  const concurrency = clampInt(config.concurrency, 1, 1, 50);
  const run = { id: claim.runId, workspaceId: claim.workspaceId };

  await deps.prisma.stepRun.createMany({
    data: items.map((_, index) => ({
      workspaceId: claim.workspaceId,
      runId: claim.runId,
      stepId: claim.stepId,
      iteration: index,
      type: inner.type,
    })),
    skipDuplicates: true,
  });
  const rows = await deps.prisma.stepRun.findMany({
    where: { runId: claim.runId, stepId: claim.stepId, iteration: { gte: 0, lt: items.length } },
    orderBy: { iteration: 'asc' },
  });
  const outputs: unknown[] = items.map(() => null);
  const todo: Iteration[] = [];
  for (const row of rows) {
    if (row.status === 'COMPLETED') outputs[row.iteration] = row.output;
    // A retry's backoff recorded before this loop was interrupted is still honoured.
    else
      todo.push({
        id: row.id,
        index: row.iteration,
        attempt: row.attempt,
        wakeAt: row.status === 'RETRYING' ? row.wakeAt : null,
      });
  }
  ctx.log(`loop over ${items.length} item(s), ${items.length - todo.length} already done, concurrency ${concurrency}`);
  // Iterations interrupted, failed or cancelled by an earlier execution of this loop start over.
  await resetIterations(
    deps.prisma,
    todo.map((item) => item.id),
  );

  const record = async (id: string, index: number, to: StepStatus, data: IterationData, event: NewEvent) => {
    const { moved, events } = await deps.prisma.$transaction((tx) =>
      moveIteration(tx, run, id, to, claim.redact(data), claim.redact(event)),
    );
    deps.bus.publish(events);
    if (!moved)
      throw new NonRetriableError(`Iteration ${index} is no longer running (the run was cancelled or resumed)`);
  };

  const policy = retryPolicyOf(inner);
  let failure: Error | null = null;
  const runIteration = async (item: Iteration) => {
    for (let attempt = item.attempt + 1; ; attempt++) {
      const base = { stepId: claim.stepId, iteration: item.index };
      if (item.wakeAt) await abortableSleep(item.wakeAt.getTime() - deps.now().getTime(), ctx.signal);
      await record(
        item.id,
        item.index,
        'RUNNING',
        { attempt, startedAt: deps.now(), wakeAt: null },
        { type: 'STEP_STARTED', ...base, data: { attempt } },
      );
      const controller = new AbortController();
      const onAbort = () => controller.abort(ctx.signal.reason);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(
        () => controller.abort(new Error(`Iteration timed out after ${timeoutMsOf(inner) / 1000} s`)),
        timeoutMsOf(inner),
      );
      try {
        const scope = { ...claim.expressionContext, item: items[item.index], index: item.index };
        const rendered = (await renderTemplates(inner.config ?? {}, scope)) as Record<string, unknown>;
        const output = await inChildSpan(
          `iteration ${item.index}`,
          {
            'weft.step.id': claim.stepId,
            'weft.step.type': inner.type,
            'weft.loop.index': item.index,
            'weft.step.attempt': attempt,
          },
          () =>
            handler.execute({
              ...ctx,
              config: rendered,
              signal: controller.signal,
              attempt,
              idempotencyKey: `${ctx.idempotencyKey}:${item.index}`,
              files: ctx.files?.forIteration(item.index),
            }),
        );
        await record(
          item.id,
          item.index,
          'COMPLETED',
          { output: (output ?? null) as Prisma.InputJsonValue, error: Prisma.DbNull, finishedAt: deps.now() },
          { type: 'STEP_COMPLETED', ...base, data: { output: output ?? null, attempt } },
        );
        outputs[item.index] = output ?? null;
        return;
      } catch (error) {
        const err = coerceError(error);
        const retryable = !(err instanceof NonRetriableError) && !ctx.signal.aborted;
        const info = { message: err.message, name: err.name, attempt, retryable };
        // The same policy, recorded state and event as a top-level step's retry (advance.ts).
        if (retryable && attempt < policy.attempts) {
          const wakeAt = new Date(deps.now().getTime() + backoffMs(policy, attempt + 1));
          await record(
            item.id,
            item.index,
            'RETRYING',
            { error: info, wakeAt },
            {
              type: 'STEP_RETRYING',
              ...base,
              data: { error: info, attempt, nextAttempt: attempt + 1, nextAttemptAt: wakeAt.toISOString() },
            },
          );
          item.wakeAt = wakeAt;
          continue;
        }
        await record(
          item.id,
          item.index,
          'FAILED',
          { error: info, finishedAt: deps.now() },
          { type: 'STEP_FAILED', ...base, data: { error: info, attempt } },
        );
        throw new Error(`Iteration ${item.index} failed: ${err.message}`, { cause: err });
      } finally {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
      }
    }
  };

  // A fixed pool of workers taking the next iteration; the first failure stops new starts.
  let next = 0;
  const worker = async () => {
    while (!failure && !ctx.signal.aborted && next < todo.length) {
      const item = todo[next++]!;
      try {
        await runIteration(item);
      } catch (error) {
        failure ??= error as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (failure) throw failure;
  return outputs;
}
