// Starting, stopping and re-running runs. Each operation is one transaction that commits the
// new state (and its events) first; only then is the engine told, so a crash in between loses
// nothing: the engine's poller finds the committed state on its own.
import type { PrismaClient } from '../db/client.ts';
import { appendEvents, RUN_DELETED_NOTICE, type StoredEvent } from '../events/log.ts';
import { evaluateExpression } from '../engine/expressions.ts';
import { downstreamOf, upstreamOf } from '../engine/graph.ts';
import { ACTIVE_RUN, isRunFinished, isRunResumable, TOP_LEVEL } from '../engine/statuses.ts';
import { isResumeWait } from '../engine/signals.ts';
import { cancelRunAndSteps, requeueRun, seedReusedSteps } from '../engine/transitions.ts';
import { coerceError, ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { Prisma, RunTrigger } from '../generated/prisma/client.ts';
import { validateDefinition, type WorkflowDefinition } from '../workflows/definition.ts';
import type { ServiceScope } from '../scope.ts';
import { validateRunInput } from './input.ts';
import { fileInputProblems } from '../files/input-refs.ts';
import { currentTraceparent } from '../observability/scope.ts';
import { agentReferenceProblems } from '../agents/service.ts';
import { normaliseDefinition } from '../workflows/spellings.ts';
import { inWorkspace } from '../ids.ts';

type Tx = Prisma.TransactionClient;

interface ConcurrencySetting {
  key?: string;
  limit?: number;
  strategy?: 'QUEUE' | 'CANCEL_IN_PROGRESS' | 'CANCEL_NEWEST';
}

export interface RunWorkflowInput {
  workflowId: string;
  input?: unknown;
  version?: number | null;
  label?: string | null;
  idempotencyKey?: string | null;
  trigger?: RunTrigger;
  /** The caller's own label of what started the run (the seeds' `"trigger": "manual"`); free text. */
  triggerLabel?: string | null;
  scheduleId?: string | null;
}

export const TRIGGER_LABEL_MAX = 100;

function checkTriggerLabel(label: string | null | undefined): void {
  if (label == null) return;
  if (label.trim().length === 0 || label.length > TRIGGER_LABEL_MAX || /[\u0000-\u001f\u007f]/.test(label)) {
    throw ValidationError.single(
      ['input', 'triggerLabel'],
      `must be 1–${TRIGGER_LABEL_MAX} characters without control characters, e.g. "manual" or "nightly-sync"`,
    );
  }
}

async function commitAndAnnounce<T>(
  scope: ServiceScope,
  work: (tx: Tx, events: StoredEvent[]) => Promise<T>,
): Promise<T> {
  const events: StoredEvent[] = [];
  const result = await scope.prisma.$transaction((tx) => work(tx, events));
  scope.bus.publish(events);
  return result;
}

async function concurrencyKeyOf(setting: ConcurrencySetting | null, input: unknown): Promise<string | null> {
  if (!setting?.key) return null;
  try {
    const value = await evaluateExpression(setting.key, { input });
    return value === null || value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value);
  } catch (error) {
    throw ValidationError.single(
      ['input', 'input'],
      `The workflow's concurrency key could not be computed: ${coerceError(error).message}`,
    );
  }
}

export async function runWorkflow(scope: ServiceScope, input: RunWorkflowInput) {
  const workflow = await scope.prisma.workflow.findFirst({ where: inWorkspace(input.workflowId, scope) });
  if (!workflow) throw new NotFoundError('Workflow', input.workflowId);
  if (workflow.status === 'PAUSED' || workflow.status === 'ARCHIVED') {
    throw new ConflictError(
      `Workflow is ${workflow.status} and cannot be run; set its status to ACTIVE (or DRAFT) first.`,
      { status: workflow.status },
    );
  }
  if (input.version != null && input.label != null)
    throw ValidationError.single(['input', 'label'], 'give either version or label, not both');
  checkTriggerLabel(input.triggerLabel);

  const version =
    input.label != null
      ? (
          await scope.prisma.releaseLabel.findUnique({
            where: { workflowId_label: { workflowId: workflow.id, label: input.label } },
            include: { version: true },
          })
        )?.version
      : await scope.prisma.workflowVersion.findUnique({
          where: { workflowId_number: { workflowId: workflow.id, number: input.version ?? workflow.latestVersion } },
        });
  if (!version) {
    throw input.label != null
      ? ValidationError.single(['input', 'label'], `no release label '${input.label}' on this workflow`)
      : ValidationError.single(
          ['input', 'version'],
          `version ${input.version} does not exist (latest is ${workflow.latestVersion})`,
        );
  }
  const definition = version.definition as unknown as WorkflowDefinition;
  const runInput = input.input ?? {};
  const problems = validateRunInput(definition.inputSchema, runInput, ['input', 'input']);
  if (!problems.length)
    problems.push(
      ...(await fileInputProblems(scope.prisma, scope.workspaceId, definition.inputSchema, runInput, [
        'input',
        'input',
      ])),
    );
  if (problems.length) throw new ValidationError(problems);
  const setting = workflow.concurrency as ConcurrencySetting | null;
  const concurrencyKey = await concurrencyKeyOf(setting, runInput);

  if (input.idempotencyKey) {
    const existing = await scope.prisma.run.findUnique({
      where: { workspaceId_idempotencyKey: { workspaceId: scope.workspaceId, idempotencyKey: input.idempotencyKey } },
    });
    if (existing) return sameIdempotentRun(existing, workflow.id);
  }

  const now = new Date();
  const cancelled: string[] = [];
  try {
    const run = await commitAndAnnounce(scope, async (tx, events) => {
      let cancelNew: string | null = null;
      if (concurrencyKey !== null && setting?.limit && setting.strategy && setting.strategy !== 'QUEUE') {
        const active = await tx.run.findMany({
          where: { workflowId: workflow.id, concurrencyKey, status: { in: [...ACTIVE_RUN] } },
          orderBy: { createdAt: 'asc' },
          select: { id: true, workspaceId: true },
        });
        if (active.length >= setting.limit) {
          if (setting.strategy === 'CANCEL_NEWEST')
            cancelNew = `Cancelled: ${active.length} run(s) with concurrency key '${concurrencyKey}' are already active (limit ${setting.limit}, strategy CANCEL_NEWEST)`;
          else {
            for (const old of active.slice(0, active.length - setting.limit + 1)) {
              events.push(
                ...(await cancelRunAndSteps(
                  tx,
                  old,
                  `Cancelled by a newer run with concurrency key '${concurrencyKey}' (strategy CANCEL_IN_PROGRESS)`,
                  now,
                )),
              );
              cancelled.push(old.id);
            }
          }
        }
      }
      const created = await tx.run.create({
        data: {
          workspaceId: scope.workspaceId,
          workflowId: workflow.id,
          versionId: version.id,
          versionNumber: version.number,
          label: input.label ?? null,
          definition: definition as unknown as Prisma.InputJsonValue,
          input: runInput as Prisma.InputJsonValue,
          trigger: input.trigger ?? 'MANUAL',
          triggerLabel: input.triggerLabel?.trim() ?? null,
          idempotencyKey: input.idempotencyKey ?? null,
          concurrencyKey,
          scheduleId: input.scheduleId ?? null,
          createdById: scope.actor.kind === 'user' ? scope.actor.id : null,
          traceParent: currentTraceparent(),
        },
      });
      events.push(
        ...(await appendEvents(tx, created, [
          {
            type: 'RUN_QUEUED',
            data: {
              version: version.number,
              trigger: created.trigger,
              ...(created.triggerLabel ? { triggerLabel: created.triggerLabel } : {}),
            },
          },
        ])),
      );
      if (cancelNew) events.push(...(await cancelRunAndSteps(tx, created, cancelNew, now)));
      return tx.run.findUniqueOrThrow({ where: { id: created.id } });
    });
    for (const id of cancelled) scope.engine.abortRun(id);
    scope.engine.notify();
    return run;
  } catch (error) {
    // Two requests with one idempotency key: the loser returns the winner's run.
    if ((error as { code?: string }).code === 'P2002' && input.idempotencyKey) {
      const existing = await scope.prisma.run.findUnique({
        where: { workspaceId_idempotencyKey: { workspaceId: scope.workspaceId, idempotencyKey: input.idempotencyKey } },
      });
      if (existing) return sameIdempotentRun(existing, workflow.id);
    }
    throw error;
  }
}

function sameIdempotentRun<T extends { workflowId: string | null }>(run: T, workflowId: string): T {
  if (run.workflowId !== workflowId)
    throw new ConflictError('This idempotencyKey was already used to start a run of another workflow.');
  return run;
}

export async function previewRun(scope: ServiceScope, input: { definition: unknown; input?: unknown }) {
  const normalised = normaliseDefinition(input.definition);
  const found = [
    ...normalised.problems,
    ...validateDefinition(normalised.definition),
    ...(await agentReferenceProblems(scope.prisma, scope.workspaceId, normalised.definition)),
  ];
  const problems = found.map((p) => ({ ...p, path: ['input', 'definition', ...p.path] }));
  if (problems.length) throw new ValidationError(problems);
  const definition = normalised.definition as WorkflowDefinition;
  const runInput = input.input ?? {};
  const inputProblems = validateRunInput(definition.inputSchema, runInput, ['input', 'input']);
  if (!inputProblems.length)
    inputProblems.push(
      ...(await fileInputProblems(scope.prisma, scope.workspaceId, definition.inputSchema, runInput, [
        'input',
        'input',
      ])),
    );
  if (inputProblems.length) throw new ValidationError(inputProblems);
  const run = await commitAndAnnounce(scope, async (tx, events) => {
    const created = await tx.run.create({
      data: {
        workspaceId: scope.workspaceId,
        definition: definition as unknown as Prisma.InputJsonValue,
        input: runInput as Prisma.InputJsonValue,
        trigger: 'PREVIEW',
        isPreview: true,
        createdById: scope.actor.kind === 'user' ? scope.actor.id : null,
        traceParent: currentTraceparent(),
      },
    });
    events.push(...(await appendEvents(tx, created, [{ type: 'RUN_QUEUED', data: { trigger: 'PREVIEW' } }])));
    return tx.run.findUniqueOrThrow({ where: { id: created.id } });
  });
  scope.engine.notify();
  return run;
}

async function findRun(scope: { prisma: PrismaClient | Tx; workspaceId: string }, runId: string) {
  const run = await scope.prisma.run.findFirst({ where: inWorkspace(runId, scope) });
  if (!run) throw new NotFoundError('Run', runId);
  return run;
}

export async function cancelRun(scope: ServiceScope, runId: string) {
  await findRun(scope, runId);
  const run = await commitAndAnnounce(scope, async (tx, events) => {
    await tx.$queryRaw`SELECT id FROM "Run" WHERE id = ${runId}::uuid FOR UPDATE`;
    const current = await findRun({ prisma: tx, workspaceId: scope.workspaceId }, runId);
    if (isRunFinished(current.status))
      throw new ConflictError(`Run is already ${current.status}; only unfinished runs can be cancelled.`, {
        status: current.status,
      });
    events.push(...(await cancelRunAndSteps(tx, current, 'Cancelled by request', new Date())));
    return tx.run.findUniqueOrThrow({ where: { id: runId } });
  });
  scope.engine.abortRun(runId);
  scope.engine.notify();
  return run;
}

/**
 * Resuming from a step reuses the outputs of the steps upstream of it, so each of them must
 * have finished (COMPLETED, or SKIPPED on purpose). Otherwise the step would only be skipped
 * again: say which upstream step to resume from instead.
 */
function refuseUnfinishedUpstream(
  definition: WorkflowDefinition,
  rows: { stepId: string; status: string }[],
  fromStep: string,
) {
  const statusOf = new Map(rows.map((r) => [r.stepId, r.status]));
  const upstream = upstreamOf(definition.steps, fromStep);
  // In definition order, so the message names the earliest first.
  const unfinished = definition.steps
    .map((s) => s.id)
    .filter((id) => upstream.has(id) && statusOf.get(id) !== 'COMPLETED' && statusOf.get(id) !== 'SKIPPED');
  if (unfinished.length === 0) return;
  const listed = unfinished.map((id) => `'${id}' (${statusOf.get(id) ?? 'not started'})`).join(', ');
  throw ValidationError.single(
    ['input', 'fromStep'],
    `Step${unfinished.length > 1 ? 's' : ''} ${listed} upstream of '${fromStep}' did not finish, so '${fromStep}' has no inputs to resume from: resume from ${unfinished.length > 1 ? 'one of them' : `'${unfinished[0]}'`}, or without fromStep`,
  );
}

export async function resumeRun(scope: ServiceScope, runId: string, fromStep?: string | null) {
  const run = await findRun(scope, runId);
  if (!isRunResumable(run.status))
    throw new ConflictError(`Run is ${run.status}; only PAUSED, FAILED or CANCELLED runs can be resumed.`, {
      status: run.status,
    });
  const definition = run.definition as unknown as WorkflowDefinition;
  if (fromStep != null && !definition.steps.some((s) => s.id === fromStep)) {
    throw ValidationError.single(
      ['input', 'fromStep'],
      `Step '${fromStep}' does not exist in this run's workflow version`,
    );
  }

  if (run.status === 'PAUSED' && fromStep == null) {
    // Continue past the wait(s) that paused the run.
    const waiting = await scope.prisma.stepRun.findMany({
      where: { runId, iteration: TOP_LEVEL, status: 'WAITING', wakeAt: null },
    });
    // Only `resume: true` waits: a wait for an event or a condition keeps waiting for it.
    for (const step of waiting.filter((w) => isResumeWait(definition.steps.find((s) => s.id === w.stepId))))
      await scope.engine.advance(runId, { kind: 'resume-wait', stepId: step.stepId });
    return scope.prisma.run.findUniqueOrThrow({ where: { id: runId } });
  }

  const resumed = await commitAndAnnounce(scope, async (tx, events) => {
    await tx.$queryRaw`SELECT id FROM "Run" WHERE id = ${runId}::uuid FOR UPDATE`;
    const current = await findRun({ prisma: tx, workspaceId: scope.workspaceId }, runId);
    if (!isRunResumable(current.status))
      throw new ConflictError(`Run is ${current.status}; only PAUSED, FAILED or CANCELLED runs can be resumed.`, {
        status: current.status,
      });
    const rows = await tx.stepRun.findMany({ where: { runId, iteration: TOP_LEVEL } });
    if (fromStep != null) refuseUnfinishedUpstream(definition, rows, fromStep);
    // From a step: it and everything downstream re-run, upstream outputs are reused.
    // Without: every step that did not complete (the last checkpoint).
    const targets =
      fromStep != null
        ? downstreamOf(definition.steps, [fromStep])
        : new Set(rows.filter((r) => r.status !== 'COMPLETED').map((r) => r.stepId));
    events.push(
      ...(await requeueRun(tx, current, [...targets], {
        resumed: true,
        fromStep: fromStep ?? null,
        steps: [...targets],
      })),
    );
    return tx.run.findUniqueOrThrow({ where: { id: runId } });
  });
  scope.engine.notify();
  return resumed;
}

export type RetryStrategy = 'FROM_FAILURE' | 'ALL_STEPS';

export async function retryRun(
  scope: ServiceScope,
  input: { runId: string; strategy: RetryStrategy; stepIds?: string[] | null; useLatestVersion?: boolean | null },
) {
  const parent = await findRun(scope, input.runId);
  if (!isRunFinished(parent.status))
    throw new ConflictError(`Run is ${parent.status}; wait for it to finish (or cancel it) before retrying.`, {
      status: parent.status,
    });
  let definition = parent.definition as unknown as WorkflowDefinition;
  let version: { id: string; number: number } | null =
    parent.versionId && parent.versionNumber ? { id: parent.versionId, number: parent.versionNumber } : null;
  if (input.useLatestVersion) {
    if (!parent.workflowId)
      throw ValidationError.single(
        ['input', 'useLatestVersion'],
        'a preview run has no workflow to take a newer version from',
      );
    const workflow = await scope.prisma.workflow.findUniqueOrThrow({ where: { id: parent.workflowId } });
    const latest = await scope.prisma.workflowVersion.findUniqueOrThrow({
      where: { workflowId_number: { workflowId: workflow.id, number: workflow.latestVersion } },
    });
    definition = latest.definition as unknown as WorkflowDefinition;
    version = { id: latest.id, number: latest.number };
  }
  const known = new Set(definition.steps.map((s) => s.id));
  const unknown = (input.stepIds ?? []).filter((id) => !known.has(id));
  if (unknown.length)
    throw new ValidationError(
      unknown.map((id, i) => ({
        path: ['input', 'stepIds', i],
        message: `Step '${id}' does not exist in the workflow version being run`,
      })),
    );

  const parentRows = await scope.prisma.stepRun.findMany({ where: { runId: parent.id, iteration: TOP_LEVEL } });
  const parentDef = parent.definition as unknown as WorkflowDefinition;
  const reused = new Map<string, unknown>();
  if (input.strategy === 'FROM_FAILURE') {
    const parentSteps = new Map(parentDef.steps.map((s) => [s.id, JSON.stringify(s)]));
    const completed = new Map(parentRows.filter((r) => r.status === 'COMPLETED').map((r) => [r.stepId, r.output]));
    // Re-run the named steps (or everything that did not complete), steps that changed in the
    // new version, and everything downstream of them; reuse the rest.
    const roots = [
      ...(input.stepIds?.length
        ? input.stepIds
        : definition.steps.filter((s) => !completed.has(s.id)).map((s) => s.id)),
      ...definition.steps.filter((s) => parentSteps.get(s.id) !== JSON.stringify(s)).map((s) => s.id),
    ];
    const rerun = downstreamOf(definition.steps, roots);
    for (const step of definition.steps)
      if (!rerun.has(step.id) && completed.has(step.id)) reused.set(step.id, completed.get(step.id));
  }

  const run = await commitAndAnnounce(scope, async (tx, events) => {
    const created = await tx.run.create({
      data: {
        workspaceId: scope.workspaceId,
        workflowId: parent.workflowId,
        versionId: version?.id ?? null,
        versionNumber: version?.number ?? null,
        definition: definition as unknown as Prisma.InputJsonValue,
        input: parent.input as Prisma.InputJsonValue,
        trigger: parent.isPreview ? 'PREVIEW' : 'RETRY',
        isPreview: parent.isPreview,
        concurrencyKey: parent.concurrencyKey,
        parentRunId: parent.id,
        rootRunId: parent.rootRunId ?? parent.id,
        createdById: scope.actor.kind === 'user' ? scope.actor.id : null,
        traceParent: currentTraceparent(),
      },
    });
    await seedReusedSteps(
      tx,
      created,
      [...reused].map(([stepId, output]) => ({
        stepId,
        type: definition.steps.find((s) => s.id === stepId)!.type,
        output,
      })),
      parent.id,
      new Date(),
    );
    events.push(
      ...(await appendEvents(tx, created, [
        {
          type: 'RUN_QUEUED',
          data: { trigger: 'RETRY', parentRunId: parent.id, strategy: input.strategy, reusedSteps: [...reused.keys()] },
        },
      ])),
    );
    return tx.run.findUniqueOrThrow({ where: { id: created.id } });
  });
  scope.engine.notify();
  return run;
}

export async function deleteRun(scope: ServiceScope, runId: string) {
  const run = await findRun(scope, runId);
  if (!isRunFinished(run.status))
    throw new ConflictError(`Run is ${run.status}; only finished runs can be deleted (cancel it first).`, {
      status: run.status,
    });
  await scope.prisma.run.delete({ where: { id: run.id } });
  scope.bus.publish([
    {
      id: 0n,
      workspaceId: run.workspaceId,
      runId: run.id,
      seq: 0,
      type: RUN_DELETED_NOTICE,
      stepId: null,
      iteration: null,
      data: { workflowId: run.workflowId, status: run.status, isPreview: run.isPreview },
      createdAt: new Date(),
    },
  ]);
  return run;
}
