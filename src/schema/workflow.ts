// Workflow and Version types with their queries and mutations.
import { NotFoundError } from '../errors.ts';
import type { Workflow } from '../generated/prisma/client.ts';
import { createWorkflow } from '../workflows/service.ts';
import { builder } from './builder.ts';
import { RunStatusEnum, TriggerTypeEnum, WorkflowStatusEnum } from './enums.ts';
import { MUTATION_ERRORS, withTypedErrors } from './errors.ts';
import { checkPageSize, isUuid, parseGlobalId } from './ids.ts';

const NO_ID = '00000000-0000-0000-0000-000000000000';

export const VersionRef = builder.prismaNode('WorkflowVersion', {
  name: 'Version',
  description: 'An immutable snapshot of a workflow definition. Every change creates a new version.',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id: isUuid(id) ? id : NO_ID, workspaceId: ctx.workspaceId }),
  fields: (t) => ({
    number: t.exposeInt('number', { description: 'Version number, 1 for the first; increases by one with each change.' }),
    definition: t.expose('definition', { type: 'JSON', description: 'The workflow definition ({ steps, inputSchema?, outputSchema? }).' }),
    changeSummary: t.exposeString('changeSummary', { nullable: true, description: 'What changed and why (commit message).' }),
    baseVersion: t.exposeInt('baseVersion', { nullable: true, description: 'The version a patch or rollback started from.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When this version was created.' }),
    workflow: t.relation('workflow', { description: 'The workflow this version belongs to.' }),
  }),
});

export const WorkflowRef = builder.prismaNode('Workflow', {
  description: 'A workflow: a DAG of steps, kept as a history of immutable versions.',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id: isUuid(id) ? id : NO_ID, workspaceId: ctx.workspaceId }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name, 1–200 characters.' }),
    description: t.exposeString('description', { nullable: true, description: 'Longer description, at most 5000 characters.' }),
    status: t.expose('status', { type: WorkflowStatusEnum, description: 'Lifecycle status.' }),
    triggerType: t.expose('triggerType', { type: TriggerTypeEnum, description: 'How runs are normally started.' }),
    latestVersion: t.exposeInt('latestVersion', { description: 'Number of the newest version.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the workflow was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the workflow last changed.' }),
    currentVersion: t.field({
      type: VersionRef,
      description: 'The newest version, whose definition new runs use by default.',
      select: (_args, _ctx, nested) => ({ versions: nested({ orderBy: { number: 'desc' }, take: 1 }) }),
      resolve: (workflow) => {
        const version = workflow.versions[0];
        if (!version) throw new Error(`Workflow ${workflow.id} has no versions`);
        return version;
      },
    }),
    definition: t.field({
      type: 'JSON',
      description: 'The definition of the current version (shortcut for currentVersion.definition).',
      select: { versions: { select: { definition: true }, orderBy: { number: 'desc' }, take: 1 } },
      resolve: (workflow) => workflow.versions[0]?.definition ?? null,
    }),
    runsCount: t.loadable({
      type: 'Int',
      description: 'Number of runs of this workflow (previews excluded).',
      load: async (ids: string[], ctx) => {
        const rows = await ctx.prisma.run.groupBy({ by: ['workflowId'], where: { workflowId: { in: ids }, isPreview: false }, _count: { _all: true } });
        const counts = new Map(rows.map((r) => [r.workflowId, r._count._all]));
        return ids.map((id) => counts.get(id) ?? 0);
      },
      resolve: (workflow) => workflow.id,
    }),
    lastRunStatus: t.field({
      type: RunStatusEnum,
      nullable: true,
      description: 'Status of the most recent run, if any.',
      select: { runs: { select: { status: true }, where: { isPreview: false }, orderBy: { createdAt: 'desc' }, take: 1 } },
      resolve: (workflow) => workflow.runs[0]?.status ?? null,
    }),
    lastRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the most recent run was created, if any.',
      select: { runs: { select: { createdAt: true }, where: { isPreview: false }, orderBy: { createdAt: 'desc' }, take: 1 } },
      resolve: (workflow) => workflow.runs[0]?.createdAt ?? null,
    }),
    versions: t.relatedConnection('versions', {
      cursor: 'id',
      description: 'Every version, newest first.',
      query: () => ({ orderBy: { number: 'desc' } }),
      totalCount: true,
    }),
  }),
});

const WorkflowOrderField = builder.enumType('WorkflowOrderField', {
  description: 'Sort key for the workflows connection.',
  values: { CREATED_AT: { value: 'createdAt' }, UPDATED_AT: { value: 'updatedAt' }, NAME: { value: 'name' } } as const,
});

const OrderDirection = builder.enumType('OrderDirection', {
  description: 'Sort direction.',
  values: { ASC: { value: 'asc' }, DESC: { value: 'desc' } } as const,
});

const WorkflowOrder = builder.inputType('WorkflowOrder', {
  description: 'Ordering of the workflows connection (ties broken by id).',
  fields: (t) => ({
    field: t.field({ type: WorkflowOrderField, required: true, description: 'What to sort by.' }),
    direction: t.field({ type: OrderDirection, defaultValue: 'desc', description: 'Sort direction, DESC by default.' }),
  }),
});

const WorkflowFilter = builder.inputType('WorkflowFilter', {
  description: 'Filters for the workflows connection; all given filters must match.',
  fields: (t) => ({
    status: t.field({ type: [WorkflowStatusEnum], description: 'Any of these statuses.' }),
    triggerType: t.field({ type: [TriggerTypeEnum], description: 'Any of these trigger types.' }),
    search: t.string({ description: 'Case-insensitive text search in name and description.' }),
  }),
});

builder.queryFields((t) => ({
  workflow: t.prismaField({
    type: 'Workflow',
    nullable: true,
    description: 'One workflow by global ID. Unknown ids (and other workspaces\' workflows) raise NOT_FOUND.',
    args: { id: t.arg.id({ required: true, description: 'Global ID of the workflow.' }) },
    resolve: async (query, _root, args, ctx) => {
      const id = parseGlobalId(String(args.id), 'Workflow');
      const workflow = await ctx.prisma.workflow.findFirst({ ...query, where: { id, workspaceId: ctx.workspaceId } });
      if (!workflow) throw new NotFoundError('Workflow', String(args.id));
      return workflow;
    },
  }),
  workflows: t.prismaConnection({
    type: 'Workflow',
    cursor: 'id',
    description: 'Workflows of your workspace, newest first unless `orderBy` says otherwise. At most 200 per page.',
    args: {
      filter: t.arg({ type: WorkflowFilter }),
      orderBy: t.arg({ type: WorkflowOrder }),
    },
    totalCount: (_parent, args, ctx) => ctx.prisma.workflow.count({ where: workflowWhere(ctx.workspaceId, args.filter) }),
    resolve: (query, _root, args, ctx) => {
      checkPageSize(args);
      const order = args.orderBy ?? { field: 'createdAt', direction: 'desc' };
      return ctx.prisma.workflow.findMany({
        ...query,
        where: workflowWhere(ctx.workspaceId, args.filter),
        orderBy: [{ [order.field]: order.direction ?? 'desc' }, { id: order.direction ?? 'desc' }],
      });
    },
  }),
}));

type WorkflowFilterArgs = { status?: string[] | null; triggerType?: string[] | null; search?: string | null } | null | undefined;

function workflowWhere(workspaceId: string, filter: WorkflowFilterArgs) {
  const search = filter?.search?.trim();
  return {
    workspaceId,
    ...(filter?.status?.length ? { status: { in: filter.status as never } } : {}),
    ...(filter?.triggerType?.length ? { triggerType: { in: filter.triggerType as never } } : {}),
    ...(search
      ? { OR: [{ name: { contains: search, mode: 'insensitive' as const } }, { description: { contains: search, mode: 'insensitive' as const } }] }
      : {}),
  };
}

const CreateWorkflowInput = builder.inputType('CreateWorkflowInput', {
  description: 'A new workflow and the definition of its version 1.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1–200 characters (surrounding whitespace is trimmed).' }),
    description: t.string({ description: 'At most 5000 characters.' }),
    definition: t.field({ type: 'JSON', required: true, description: 'The definition: { steps: [...], inputSchema?, outputSchema? }.' }),
    status: t.field({ type: WorkflowStatusEnum, description: 'Defaults to DRAFT.' }),
    triggerType: t.field({ type: TriggerTypeEnum, description: 'Defaults to MANUAL.' }),
  }),
});

const CreateWorkflowPayload = builder.objectRef<{ workflow: Workflow }>('CreateWorkflowPayload').implement({
  description: 'The created workflow (with version 1).',
  fields: (t) => ({
    workflow: t.field({ type: WorkflowRef, description: 'The new workflow.', resolve: (payload) => payload.workflow }),
  }),
});

builder.mutationFields((t) => ({
  createWorkflow: t.field({
    type: CreateWorkflowPayload,
    description: 'Creates a workflow and its version 1. Invalid input is refused with every problem listed; nothing is written.',
    args: { input: t.arg({ type: CreateWorkflowInput, required: true }) },
    errors: { types: MUTATION_ERRORS, directResult: true, union: { name: 'CreateWorkflowResult' } },
    resolve: (_root, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ workflow: await createWorkflow(ctx, input) })),
  }),
}));
