// Run, StepRun and RunEvent types with the queries and mutations that start and control runs.
import { RUN_EVENT_TYPES } from '../events/log.ts';
import { redactInput } from '../engine/redact.ts';
import { TOP_LEVEL } from '../engine/statuses.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Run, RunEvent } from '../generated/prisma/client.ts';
import type { RunStatus, RunTrigger } from '../generated/prisma/enums.ts';
import { resolveWorkflowId } from '../workflows/lookup.ts';
import { cancelRun, deleteRun, previewRun, resumeRun, retryRun, runWorkflow } from '../runs/service.ts';
import { runsSummary } from '../runs/summary.ts';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import { eventCursor, resolveEventCursor } from '../events/cursor.ts';
import { builder } from './builder.ts';
import { deletePayload } from './delete.ts';
import { RunStatusEnum, RunTriggerEnum, StepStatusEnum } from './enums.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';
import { bigintId, inWorkspace, parseGlobalId } from '../ids.ts';
import { checkPageSize, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';

export const RunEventTypeEnum = builder.enumType('RunEventType', {
  description: 'What happened to a run or one of its steps.',
  values: RUN_EVENT_TYPES,
});

const durationMs = (startedAt: Date | null, finishedAt: Date | null) =>
  startedAt && finishedAt ? finishedAt.getTime() - startedAt.getTime() : null;

export const RunEventRef = builder.prismaNode('RunEvent', {
  nullable: true,
  description: "One entry of a run's append-only event log.",
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id: bigintId(id), workspaceId: ctx.workspaceId }),
  fields: (t) => ({
    seq: t.exposeInt('seq', {
      description:
        "Position in the run's log: 1, 2, 3… without gaps. As a string, it is the event's cursor (see `cursor`).",
    }),
    cursor: t.string({
      description:
        "The event's cursor: its seq as a string. Every `after`/`before` of the event log takes it (runEvents, runEventStream, Run.events).",
      resolve: (e) => eventCursor(e.seq),
    }),
    type: t.field({
      type: RunEventTypeEnum,
      description: 'What happened.',
      resolve: (e) => e.type as (typeof RUN_EVENT_TYPES)[number],
    }),
    stepId: t.exposeString('stepId', { nullable: true, description: 'The step concerned, for step events.' }),
    iteration: t.exposeInt('iteration', {
      nullable: true,
      description: 'The loop iteration concerned, for events of a loop body.',
    }),
    data: t.expose('data', {
      type: 'JSON',
      nullable: true,
      deprecationReason: 'Use `payload`, typed per event type.',
      description:
        'Details: output, error, attempt, reason… depending on the type (untyped; `payload` has the same, typed).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
  }),
});

export const StepRunRef = builder.prismaNode('StepRun', {
  nullable: true,
  description: 'The execution of one step of a run (or one iteration of a loop body).',
  id: { field: 'id' },
  findUnique: inWorkspace,
  fields: (t) => ({
    stepId: t.exposeString('stepId', { description: "The step's id in the definition." }),
    type: t.exposeString('type', { description: 'The step type.' }),
    status: t.field({ type: StepStatusEnum, description: 'Current state.', resolve: (s) => s.status }),
    attempt: t.exposeInt('attempt', { description: 'Number of the current (or last) attempt; 0 before the first.' }),
    iteration: t.int({
      nullable: true,
      description: 'For an iteration of a loop body: its index; null for a step of the workflow.',
      resolve: (s) => (s.iteration >= 0 ? s.iteration : null),
    }),
    input: t.expose('input', {
      type: 'JSON',
      nullable: true,
      description: "The step's config with every expression evaluated (sensitive inputs redacted).",
    }),
    output: t.expose('output', { type: 'JSON', nullable: true, description: "The step's result, once COMPLETED." }),
    model: t.string({
      nullable: true,
      description:
        'For an agent_task step that COMPLETED: the model that answered (as the API reports it; a fallback model when the ones before failed). Null otherwise.',
      resolve: (s) =>
        s.type === 'agent_task' &&
        s.output &&
        typeof s.output === 'object' &&
        typeof (s.output as { model?: unknown }).model === 'string'
          ? (s.output as { model: string }).model
          : null,
    }),
    error: t.expose('error', {
      type: 'JSON',
      nullable: true,
      description: 'The last error ({ message, name, attempt, retryable }).',
    }),
    logs: t.exposeString('logs', { description: 'Log lines the step wrote, newline-separated.' }),
    wakeAt: t.expose('wakeAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When a WAITING or RETRYING step continues.',
    }),
    startedAt: t.expose('startedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Start of the current (or last) attempt.',
    }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When the step finished.' }),
    durationMs: t.int({
      nullable: true,
      description: 'finishedAt − startedAt, in milliseconds.',
      resolve: (s) => durationMs(s.startedAt, s.finishedAt),
    }),
  }),
});

builder.prismaObjectField('StepRun', 'iterations', (t) =>
  t.loadableGroup({
    type: StepRunRef,
    description: 'For a loop step: its iterations in item order (empty for other steps).',
    load: (keys: string[], ctx) =>
      ctx.prisma.stepRun.findMany({
        where: {
          OR: keys
            .map((k) => k.split('|'))
            .map(([runId, stepId]) => ({ runId: runId!, stepId: stepId!, iteration: { gte: 0 } })),
        },
        orderBy: { iteration: 'asc' },
      }),
    group: (row) => `${row.runId}|${row.stepId}`,
    resolve: (step) => `${step.runId}|${step.stepId}`,
  }),
);

export const RunRef = builder.prismaNode('Run', {
  nullable: true,
  description: 'One execution of a workflow (or of an unsaved definition, for previews).',
  id: { field: 'id' },
  findUnique: inWorkspace,
  fields: (t) => ({
    status: t.expose('status', { type: RunStatusEnum, description: 'Current state.' }),
    trigger: t.expose('trigger', { type: RunTriggerEnum, description: 'What started the run.' }),
    triggerLabel: t.exposeString('triggerLabel', {
      nullable: true,
      description: 'The label the caller gave to runWorkflow (e.g. "manual"), if any; free text, unlike `trigger`.',
    }),
    isPreview: t.exposeBoolean('isPreview', {
      description: 'True for previewRun runs (not counted in workflow statistics).',
    }),
    workflow: t.relation('workflow', { nullable: true, description: 'The workflow run (null for previews).' }),
    version: t.relation('version', { nullable: true, description: 'The workflow version run.' }),
    versionNumber: t.exposeInt('versionNumber', { nullable: true, description: 'Number of the version run.' }),
    label: t.exposeString('label', {
      nullable: true,
      description: 'The release label the run was started by, if any.',
    }),
    definition: t.expose('definition', { type: 'JSON', description: 'The definition being executed.' }),
    input: t.field({
      type: 'JSON',
      description: 'The run input; properties marked `sensitive` in the input schema are replaced by "[sensitive]".',
      select: { input: true, definition: true },
      resolve: (run) => redactInput((run.definition as { inputSchema?: unknown }).inputSchema, run.input),
    }),
    output: t.expose('output', { type: 'JSON', nullable: true, description: 'The run output, once COMPLETED.' }),
    error: t.expose('error', { type: 'JSON', nullable: true, description: 'Why the run failed or was cancelled.' }),
    checks: t.expose('checks', {
      type: 'JSON',
      nullable: true,
      description:
        "Post-run check results, in the checks' order: [{ id, name, type, status (PASSED | FAILED | PENDING while a model judges), passed, reason?, expression?, error?, matched?, missing?, expected?, found?, model?, verdict? }].",
    }),
    idempotencyKey: t.exposeString('idempotencyKey', {
      nullable: true,
      description: 'The idempotency key the run was started with.',
    }),
    concurrencyKey: t.exposeString('concurrencyKey', {
      nullable: true,
      description: "Value of the workflow's concurrency key expression for this run.",
    }),
    parentRun: t.relation('parentRun', { nullable: true, description: 'For retries: the run this one retries.' }),
    rootRunId: t.field({
      type: 'ID',
      nullable: true,
      description: 'For retries: global ID of the first run of the lineage.',
      resolve: (run) => (run.rootRunId ? Buffer.from(`Run:${run.rootRunId}`).toString('base64') : null),
    }),
    retries: t.relation('children', { description: 'Runs started by retryRun from this one.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the run was queued.' }),
    startedAt: t.expose('startedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it first started running.',
    }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When it finished.' }),
    durationMs: t.int({
      nullable: true,
      description: 'finishedAt − startedAt, in milliseconds.',
      resolve: (run) => durationMs(run.startedAt, run.finishedAt),
    }),
    stepRuns: t.relation('stepRuns', {
      description: "The workflow's steps (loop iterations are under StepRun.iterations).",
      query: { where: { iteration: TOP_LEVEL }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
    }),
    events: t.connection(
      {
        type: RunEventRef,
        description:
          "The run's event log, oldest first. Edge cursors are event cursors (the seq as a string), the same `after` runEvents and runEventStream take; connection cursors of earlier versions are still accepted (deprecated).",
        resolve: async (run, args, ctx) => {
          checkPageSize(args);
          const after = await resolveEventCursor(ctx.prisma, run.id, args.after, ['events', 'after']);
          const before =
            args.before != null
              ? await resolveEventCursor(ctx.prisma, run.id, args.before, ['events', 'before'])
              : null;
          const page = await resolveCursorConnection(
            {
              args: { first: args.first, last: args.last },
              toCursor: (e) => eventCursor((e as RunEvent).seq),
              defaultSize: DEFAULT_PAGE_SIZE,
              maxSize: MAX_PAGE_SIZE,
            },
            ({ limit, inverted }): Promise<RunEvent[]> =>
              ctx.prisma.runEvent.findMany({
                where: { runId: run.id, seq: { gt: after, ...(before !== null ? { lt: before } : {}) } },
                orderBy: { seq: inverted ? 'desc' : 'asc' },
                take: limit,
              }),
          );
          // The page carries its run for totalCount (resolved only when selected).
          return Object.assign(page!, { runId: run.id }) as never;
        },
      },
      {
        fields: (c) => ({
          totalCount: c.int({
            description: 'Total number of items matching the query, across all pages.',
            resolve: (page, _args, ctx) =>
              ctx.prisma.runEvent.count({ where: { runId: (page as unknown as { runId: string }).runId } }),
          }),
        }),
      },
    ),
  }),
});

const RunFilter = builder.inputType('RunFilter', {
  description: 'Filters for the runs connection; all given filters must match.',
  fields: (t) => ({
    workflowId: t.id({ description: 'Only runs of this workflow.' }),
    status: t.field({ type: [RunStatusEnum], description: 'Any of these statuses.' }),
    trigger: t.field({ type: [RunTriggerEnum], description: 'Any of these triggers.' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Queued at or after this time.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Queued before this time.' }),
    includePreviews: t.boolean({ description: 'Include preview runs (default false).' }),
  }),
});

const RunsSummaryRef = builder.objectRef<Awaited<ReturnType<typeof runsSummary>>>('RunsSummary').implement({
  description: 'Run statistics over a time window (previews excluded).',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Runs queued in the window.' }),
    byStatus: t.field({
      type: [
        builder.objectRef<{ status: RunStatus; count: number }>('RunStatusCount').implement({
          description: 'Number of runs in one status.',
          fields: (f) => ({
            status: f.field({ type: RunStatusEnum, description: 'The status.', resolve: (c) => c.status }),
            count: f.exposeInt('count', { description: 'How many runs.' }),
          }),
        }),
      ],
      description: 'Count per status (every status listed, zeros included).',
      resolve: (s) => s.byStatus,
    }),
    successRate: t.exposeFloat('successRate', {
      nullable: true,
      description: 'COMPLETED / finished runs, 0–1; null when none finished.',
    }),
    p50DurationMs: t.exposeFloat('p50DurationMs', { nullable: true, description: 'Median duration of finished runs.' }),
    p95DurationMs: t.exposeFloat('p95DurationMs', {
      nullable: true,
      description: '95th percentile duration of finished runs.',
    }),
    since: t.expose('since', { type: 'DateTime', description: 'Start of the window.' }),
    until: t.expose('until', { type: 'DateTime', description: 'End of the window.' }),
  }),
});

builder.queryFields((t) => ({
  run: t.prismaField({
    type: 'Run',
    nullable: true,
    description: 'One run by global ID; unknown ids raise NOT_FOUND.',
    args: { id: t.arg.id({ required: true, description: 'Global ID of the run.' }) },
    resolve: async (query, _root, args, ctx) => {
      const id = parseGlobalId(String(args.id), 'Run');
      const run = await ctx.prisma.run.findFirst({ ...query, where: inWorkspace(id, ctx) });
      if (!run) throw new NotFoundError('Run', String(args.id));
      return run;
    },
  }),
  runs: t.prismaConnection({
    type: 'Run',
    cursor: 'id',
    description: 'Runs of your workspace, newest first. At most 200 per page.',
    args: { filter: t.arg({ type: RunFilter, description: 'Which runs.' }) },
    totalCount: (_p, args, ctx) => (
      checkPageSize(args), ctx.prisma.run.count({ where: runWhere(ctx.workspaceId, args.filter) })
    ),
    resolve: (query, _root, args, ctx) => {
      checkPageSize(args);
      return ctx.prisma.run.findMany({
        ...query,
        where: runWhere(ctx.workspaceId, args.filter),
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      });
    },
  }),
  runsSummary: t.field({
    type: RunsSummaryRef,
    description:
      'Counts per status, success rate and p50/p95 duration of runs queued in a window (default: the last 24 hours), for one workflow or the whole workspace.',
    args: {
      workflowId: t.arg.id({ description: 'Only this workflow.' }),
      since: t.arg({ type: 'DateTime', description: 'Window start (default: 24 hours before `until`).' }),
      until: t.arg({ type: 'DateTime', description: 'Window end (default: now).' }),
    },
    resolve: (_root, args, ctx) => {
      const until = args.until ?? new Date();
      const since = args.since ?? new Date(until.getTime() - 24 * 3600 * 1000);
      if (since >= until) throw ValidationError.single(['since'], 'must be before until');
      return runsSummary(ctx, {
        workflowId: args.workflowId ? parseGlobalId(String(args.workflowId), 'Workflow') : null,
        since,
        until,
      });
    },
  }),
}));

type RunFilterArgs =
  | {
      workflowId?: string | number | null;
      status?: RunStatus[] | null;
      trigger?: RunTrigger[] | null;
      createdAfter?: Date | null;
      createdBefore?: Date | null;
      includePreviews?: boolean | null;
    }
  | null
  | undefined;

function runWhere(workspaceId: string, filter: RunFilterArgs) {
  return {
    workspaceId,
    ...(filter?.includePreviews ? {} : { isPreview: false }),
    ...(filter?.workflowId != null ? { workflowId: parseGlobalId(String(filter.workflowId), 'Workflow') } : {}),
    ...(filter?.status?.length ? { status: { in: filter.status } } : {}),
    ...(filter?.trigger?.length ? { trigger: { in: filter.trigger } } : {}),
    ...(filter?.createdAfter || filter?.createdBefore
      ? {
          createdAt: {
            ...(filter.createdAfter ? { gte: filter.createdAfter } : {}),
            ...(filter.createdBefore ? { lt: filter.createdBefore } : {}),
          },
        }
      : {}),
  };
}

const RunPayload = builder.objectRef<{ run: Run }>('RunPayload').implement({
  description: 'The run the mutation started or changed.',
  fields: (t) => ({ run: t.field({ type: RunRef, description: 'The run.', resolve: (p) => p.run }) }),
});

const DeleteRunPayload = deletePayload(
  'DeleteRunPayload',
  'The run was deleted with its steps and events.',
  'deletedRunId',
);

const RunWorkflowInput = builder.inputType('RunWorkflowInput', {
  description: 'Which workflow to run, on which version, with what input.',
  fields: (t) => ({
    workflowId: t.id({
      required: true,
      description:
        'Global ID of the workflow, or its name (case-insensitive; refused when several workflows share it).',
    }),
    input: t.field({
      type: 'JSON',
      description: "The run input (an object), validated against the version's input schema. Default {}.",
    }),
    triggerLabel: t.string({
      description:
        'Your own label of what started the run, e.g. "manual" or "nightly-sync" (1–100 characters); kept on Run.triggerLabel, apart from the system\'s Run.trigger.',
    }),
    version: t.int({ description: 'Version number to run (default: the latest).' }),
    label: t.string({ description: 'Release label whose version to run (instead of `version`).' }),
    idempotencyKey: t.string({
      description: 'Runs started with the same key return the first run instead of starting another.',
    }),
  }),
});

const PreviewRunInput = builder.inputType('PreviewRunInput', {
  description: 'An unsaved definition to execute as a PREVIEW run.',
  fields: (t) => ({
    definition: t.field({ type: 'JSON', required: true, description: 'The definition (validated first).' }),
    input: t.field({ type: 'JSON', description: 'The run input. Default {}.' }),
  }),
});

const RunIdInput = builder.inputType('RunIdInput', {
  description: 'Identifies a run.',
  fields: (t) => ({ runId: t.id({ required: true, description: 'Global ID of the run.' }) }),
});

const ResumeRunInput = builder.inputType('ResumeRunInput', {
  description: 'Which run to resume, and from where.',
  fields: (t) => ({
    runId: t.id({ required: true, description: 'Global ID of a PAUSED, FAILED or CANCELLED run.' }),
    fromStep: t.string({
      description:
        'Re-run this step and everything downstream, reusing upstream outputs. Default: continue from the last checkpoint (the steps that did not complete; for a PAUSED run, past its wait).',
    }),
  }),
});

const RetryStrategyEnum = builder.enumType('RetryStrategy', {
  description: 'What a retry re-runs.',
  values: {
    FROM_FAILURE: {
      description:
        'Reuse the outputs of steps that completed; re-run the failed (or named) steps and everything downstream.',
    },
    ALL_STEPS: { description: 'Re-run every step.' },
  } as const,
});

const RetryRunInput = builder.inputType('RetryRunInput', {
  description: 'Start a new run from a finished one.',
  fields: (t) => ({
    runId: t.id({ required: true, description: 'Global ID of a finished run.' }),
    strategy: t.field({
      type: RetryStrategyEnum,
      defaultValue: 'FROM_FAILURE',
      description: 'What to re-run (default FROM_FAILURE).',
    }),
    stepIds: t.stringList({
      description: 'With FROM_FAILURE: re-run these steps (and their downstream) instead of the failed ones.',
    }),
    useLatestVersion: t.boolean({
      description: "Run the workflow's latest version instead of the original one (steps that changed are re-run).",
    }),
  }),
});

builder.mutationFields((t) => ({
  runWorkflow: t.field({
    skipTypeScopes: true,
    authScopes: { run: true },
    type: RunPayload,
    description:
      'Queues a run and returns it at once (status QUEUED); it executes asynchronously. PAUSED and ARCHIVED workflows are refused (CONFLICT); invalid input is refused with every violation and its path.',
    args: { input: t.arg({ type: RunWorkflowInput, required: true }) },
    errors: mutationErrors('RunWorkflowResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        run: await runWorkflow(ctx, {
          workflowId: await resolveWorkflowId(ctx, String(input.workflowId), ['input', 'workflowId']),
          input: input.input,
          version: input.version,
          label: input.label,
          idempotencyKey: input.idempotencyKey,
          triggerLabel: input.triggerLabel,
        }),
      })),
  }),
  previewRun: t.field({
    skipTypeScopes: true,
    authScopes: { $all: { write: true, run: true } },
    type: RunPayload,
    description:
      'Executes an unsaved definition as a PREVIEW run: observable like any run, not counted in workflow statistics.',
    args: { input: t.arg({ type: PreviewRunInput, required: true }) },
    errors: mutationErrors('PreviewRunResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        run: await previewRun(ctx, { definition: input.definition, input: input.input }),
      })),
  }),
  cancelRun: t.field({
    skipTypeScopes: true,
    authScopes: { run: true },
    type: RunPayload,
    description:
      'Cancels an unfinished run: in-flight work is aborted (HTTP requests, child processes) and the run and its unfinished steps become CANCELLED.',
    args: { input: t.arg({ type: RunIdInput, required: true }) },
    errors: mutationErrors('CancelRunResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ run: await cancelRun(ctx, parseGlobalId(String(input.runId), 'Run')) })),
  }),
  resumeRun: t.field({
    skipTypeScopes: true,
    authScopes: { run: true },
    type: RunPayload,
    description: 'Continues a PAUSED, FAILED or CANCELLED run from a step or from its last checkpoint.',
    args: { input: t.arg({ type: ResumeRunInput, required: true }) },
    errors: mutationErrors('ResumeRunResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        run: await resumeRun(ctx, parseGlobalId(String(input.runId), 'Run'), input.fromStep),
      })),
  }),
  retryRun: t.field({
    skipTypeScopes: true,
    authScopes: { run: true },
    type: RunPayload,
    description:
      "Starts a new run linked to a finished one (parentRun, rootRunId), optionally on the workflow's latest version.",
    args: { input: t.arg({ type: RetryRunInput, required: true }) },
    errors: mutationErrors('RetryRunResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        run: await retryRun(ctx, {
          runId: parseGlobalId(String(input.runId), 'Run'),
          strategy: input.strategy ?? 'FROM_FAILURE',
          stepIds: input.stepIds,
          useLatestVersion: input.useLatestVersion,
        }),
      })),
  }),
  deleteRun: t.field({
    type: DeleteRunPayload,
    description: 'Deletes a finished run with its steps and events (unfinished runs: cancel first).',
    args: { input: t.arg({ type: RunIdInput, required: true }) },
    errors: mutationErrors('DeleteRunResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => {
        await deleteRun(ctx, parseGlobalId(String(input.runId), 'Run'));
        return { deletedId: String(input.runId) };
      }),
  }),
}));
