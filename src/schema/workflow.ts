// Workflow and Version types with their queries and mutations.
import { NotFoundError, ValidationError } from '../errors.ts';
import type { WorkflowVersion } from '../generated/prisma/client.ts';
import { diffDefinitions, type DefinitionDiff } from '../workflows/diff.ts';
import { resolveWorkflowId } from '../workflows/lookup.ts';
import { builder } from './builder.ts';
import { PostRunCheckRef, postRunChecksOf } from './post-run-check.ts';
import { RunStatusEnum, TriggerTypeEnum, WorkflowStatusEnum } from './enums.ts';
import { inWorkspace, parseGlobalId } from '../ids.ts';
import { checkPageSize, checkSearch, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import {
  currentDefinitionLoader,
  currentVersionLoader,
  lastRunLoader,
  versionPageLoader,
  type VersionPageKey,
} from '../workflows/page-loaders.ts';
import type { Context } from '../context.ts';
import type { GraphQLResolveInfo } from 'graphql';

/**
 * The Prisma selection the requested Version fields need, at `path` below the field. Called per
 * list item, not cached: it also records, for the item's response path, which fields the loaded
 * row covers — without that the prisma plugin reloads them row by row.
 */
function versionSelection(ctx: Context, info: GraphQLResolveInfo, path: string[]): VersionPageKey['query'] {
  return queryFromInfo({ context: ctx, info, typeName: 'Version', path }) as VersionPageKey['query'];
}

/** A versions cursor is the version number; anything else is a bad argument, not a server error. */
function versionCursor(cursor: string | null | undefined, arg: 'after' | 'before'): number | null {
  if (cursor == null) return null;
  if (!/^[1-9][0-9]{0,8}$/.test(cursor)) throw ValidationError.single([arg], 'is not a cursor of this connection');
  return Number(cursor);
}

type VersionDiff = DefinitionDiff & { from: number; to: number };

const WorkflowDiffRef = builder.objectRef<VersionDiff>('WorkflowDiff').implement({
  description:
    'Differences between two versions of a workflow definition. Steps are compared by id, so inserting or reordering a step does not show later steps as modified.',
  fields: (t) => ({
    from: t.exposeInt('from', { description: 'The version compared from (usually the older one).' }),
    to: t.exposeInt('to', { description: 'The version compared to (usually the newer one).' }),
    summary: t.exposeString('summary', {
      description:
        'E.g. "Added 1 step, modified 1 step" (counted per step id); "No changes" when the definitions are equal.',
    }),
    operations: t.field({
      type: 'JSON',
      description:
        'RFC 6902 JSON Patch operations turning `from` into `to`, over the definition with `steps` keyed by id: /steps/<stepId>/config/url.',
      resolve: (d) => d.operations,
    }),
    added: t.stringList({ description: 'Ids of steps added.', resolve: (d) => d.added }),
    removed: t.stringList({ description: 'Ids of steps removed.', resolve: (d) => d.removed }),
    modified: t.stringList({
      description: 'Ids of steps present in both versions whose fields changed.',
      resolve: (d) => d.modified,
    }),
    changedFields: t.stringList({
      description:
        'Top-level definition fields other than steps that changed (inputSchema, outputSchema, output, maxParallelSteps).',
      resolve: (d) => d.changedFields,
    }),
  }),
});

export const VersionRef = builder.prismaNode('WorkflowVersion', {
  nullable: true,
  name: 'Version',
  description: 'An immutable snapshot of a workflow definition. Every change creates a new version.',
  id: { field: 'id' },
  // Columns per requested field: a list of version numbers does not read every definition.
  select: { id: true, workflowId: true, number: true },
  findUnique: inWorkspace,
  fields: (t) => ({
    number: t.exposeInt('number', {
      description: 'Version number, 1 for the first; increases by one with each change.',
    }),
    definition: t.expose('definition', {
      type: 'JSON',
      description: 'The workflow definition ({ steps, inputSchema?, outputSchema? }).',
    }),
    changeSummary: t.exposeString('changeSummary', {
      nullable: true,
      description: 'What changed and why (commit message).',
    }),
    baseVersion: t.exposeInt('baseVersion', {
      nullable: true,
      description: 'The version a patch or rollback started from.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When this version was created.' }),
    workflow: t.relation('workflow', { description: 'The workflow this version belongs to.' }),
    releaseLabels: t.field({
      type: ['String'],
      description: 'Release labels (e.g. "production") pointing at this version.',
      select: { releaseLabels: { select: { label: true }, orderBy: { label: 'asc' } } },
      resolve: (version) => version.releaseLabels.map((l) => l.label),
    }),
    diffFromPrevious: t.loadable({
      type: WorkflowDiffRef,
      nullable: true,
      description: 'What this version changed compared with the version before it (null for version 1).',
      // One query for all versions of a response: each one's definition and its predecessor's, by
      // (workflowId, number) — the parent row carries only the columns its selected fields asked for.
      load: async (versions: Pick<WorkflowVersion, 'workflowId' | 'number'>[], ctx) => {
        const wanted = versions.filter((v) => v.number > 1);
        const rows = wanted.length
          ? await ctx.prisma.workflowVersion.findMany({
              where: {
                workspaceId: ctx.workspaceId,
                OR: wanted.flatMap((v) => [
                  { workflowId: v.workflowId, number: v.number - 1 },
                  { workflowId: v.workflowId, number: v.number },
                ]),
              },
              select: { workflowId: true, number: true, definition: true },
            })
          : [];
        const byKey = new Map(rows.map((p) => [`${p.workflowId}:${p.number}`, p.definition]));
        return versions.map((v) => {
          const before = byKey.get(`${v.workflowId}:${v.number - 1}`);
          const after = byKey.get(`${v.workflowId}:${v.number}`);
          return v.number > 1 && before !== undefined && after !== undefined
            ? { ...diffDefinitions(before, after), from: v.number - 1, to: v.number }
            : null;
        });
      },
      resolve: (version) => version,
    }),
  }),
});

export const ReleaseLabelRef = builder.prismaObject('ReleaseLabel', {
  description: 'A named pointer (e.g. "production", "staging") to one version of a workflow.',
  fields: (t) => ({
    label: t.exposeString('label', { description: 'The label.' }),
    version: t.relation('version', { description: 'The version it points at.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last moved.' }),
  }),
});

const ConcurrencyRef = builder
  .objectRef<{ key: string; limit: number; strategy: string }>('ConcurrencySetting')
  .implement({
    description: "Per-key concurrency limit of a workflow's runs.",
    fields: (t) => ({
      key: t.exposeString('key', { description: 'Expression over the run input, e.g. input.customerId.' }),
      limit: t.exposeInt('limit', { description: 'Most active runs per key value.' }),
      strategy: t.exposeString('strategy', { description: 'QUEUE, CANCEL_IN_PROGRESS or CANCEL_NEWEST.' }),
    }),
  });

export const WorkflowRef = builder.prismaNode('Workflow', {
  nullable: true,
  description: 'A workflow: a DAG of steps, kept as a history of immutable versions.',
  id: { field: 'id' },
  // Columns are selected per requested field (exposed fields add theirs), so a list page does not
  // read secret ciphertexts or parse JSON columns nobody asked for. latestVersion keys currentVersion.
  select: { id: true, latestVersion: true },
  findUnique: inWorkspace,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name, 1–200 characters.' }),
    description: t.exposeString('description', {
      nullable: true,
      description: 'Longer description, at most 5000 characters.',
    }),
    status: t.expose('status', { type: WorkflowStatusEnum, description: 'Lifecycle status.' }),
    triggerType: t.expose('triggerType', { type: TriggerTypeEnum, description: 'How runs are normally started.' }),
    // From the row the resolver has (the type's base select always loads it): a mutation's payload
    // must say which version it created, not whatever a later concurrent patch made the newest.
    latestVersion: t.int({ description: 'Number of the newest version.', resolve: (w) => w.latestVersion }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the workflow was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the workflow last changed.' }),
    currentVersion: t.field({
      type: VersionRef,
      description: 'The newest version, whose definition new runs use by default.',
      // One batched statement per page by the unique (workflowId, number = latestVersion): a nested
      // `versions(take: 1)` over several parents reads every version of every workflow instead.
      resolve: async (workflow, _args, ctx, info) => {
        const version = await currentVersionLoader(ctx).load({
          workflowId: workflow.id,
          latestVersion: workflow.latestVersion,
          query: versionSelection(ctx, info, []),
        });
        if (!version) throw new Error(`Workflow ${workflow.id} has no version ${workflow.latestVersion}`);
        return version as WorkflowVersion;
      },
    }),
    definition: t.field({
      type: 'JSON',
      description: 'The definition of the current version (shortcut for currentVersion.definition).',
      resolve: (workflow, _args, ctx) => currentDefinitionLoader(ctx).load(workflow),
    }),
    runsCount: t.exposeInt('runsCount', { description: 'Number of runs of this workflow (previews excluded).' }),
    lastRunStatus: t.field({
      type: RunStatusEnum,
      nullable: true,
      description: 'Status of the most recent run, if any.',
      resolve: async (workflow, _args, ctx) => (await lastRunLoader(ctx).load(workflow.id))?.status ?? null,
    }),
    lastRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the most recent run was created, if any.',
      resolve: async (workflow, _args, ctx) => (await lastRunLoader(ctx).load(workflow.id))?.createdAt ?? null,
    }),
    inputSchema: t.field({
      type: 'JSON',
      nullable: true,
      description: "JSON Schema of the run input (from the current version's definition).",
      resolve: async (workflow, _args, ctx) =>
        ((await currentDefinitionLoader(ctx).load(workflow)) as { inputSchema?: unknown } | null)?.inputSchema ?? null,
    }),
    outputSchema: t.field({
      type: 'JSON',
      nullable: true,
      description: "JSON Schema of the run output (from the current version's definition).",
      resolve: async (workflow, _args, ctx) =>
        ((await currentDefinitionLoader(ctx).load(workflow)) as { outputSchema?: unknown } | null)?.outputSchema ??
        null,
    }),
    metadata: t.expose('metadata', {
      type: 'JSON',
      nullable: true,
      description: 'Free-form metadata (patched key by key).',
    }),
    webhooksEnabled: t.exposeBoolean('webhooksEnabled', {
      description: 'Send a signed webhook to webhookUrl when a run finishes.',
    }),
    webhookUrl: t.exposeString('webhookUrl', { nullable: true, description: 'Where completion webhooks go.' }),
    hasWebhookSecret: t.boolean({
      description: 'Whether completion webhooks are signed (the secret itself is never returned).',
      select: { webhookSecret: true },
      resolve: (w) => !!w.webhookSecret,
    }),
    commandAllowlist: t.exposeStringList('commandAllowlist', {
      description: 'Command templates script steps may run (empty: no restriction beyond the server switch).',
    }),
    postRunChecks: t.field({
      type: [PostRunCheckRef],
      description: 'Checks evaluated over every finished run, in order.',
      select: { postRunChecks: true },
      resolve: (w) => postRunChecksOf(w.postRunChecks),
    }),
    includesFileExports: t.exposeBoolean('includesFileExports', {
      description:
        'Files declared in step outputs ({ "$file": { name, base64 | url } }) are stored as run attachments.',
    }),
    maxConcurrentRuns: t.exposeInt('maxConcurrentRuns', {
      nullable: true,
      description: 'Most runs of this workflow RUNNING at once (null: only the global limit).',
    }),
    concurrency: t.field({
      type: ConcurrencyRef,
      nullable: true,
      description: 'Per-key concurrency limit.',
      select: { concurrency: true },
      resolve: (w) => (w.concurrency as { key: string; limit: number; strategy: string } | null) ?? null,
    }),
    releaseLabels: t.relation('releaseLabels', {
      description: 'Release labels of this workflow.',
      query: { orderBy: { label: 'asc' } },
    }),
    version: t.prismaField({
      type: 'WorkflowVersion',
      nullable: true,
      description: 'One version by number or by release label (exactly one of the two); null when there is none.',
      args: {
        number: t.arg.int({ description: 'Version number.' }),
        label: t.arg.string({ description: 'Release label, e.g. "production".' }),
      },
      // findUnique calls made in the same tick are batched by Prisma into one statement, so this
      // stays N+1-free in lists (measured: fewer statements than planning it into the parent's
      // query, whose selections of versions/releaseLabels conflict with other fields').
      resolve: async (query, workflow, args, ctx) => {
        if ((args.number == null) === (args.label == null))
          throw ValidationError.single(['number'], 'give exactly one of number and label');
        if (args.label != null) {
          const label = await ctx.prisma.releaseLabel.findUnique({
            where: { workflowId_label: { workflowId: workflow.id, label: args.label } },
            include: { version: query },
          });
          return label?.version ?? null;
        }
        return ctx.prisma.workflowVersion.findUnique({
          ...query,
          where: { workflowId_number: { workflowId: workflow.id, number: args.number! } },
        });
      },
    }),
    diff: t.field({
      type: WorkflowDiffRef,
      description: 'What changed between two versions (RFC 6902 operations and a per-step summary).',
      args: {
        from: t.arg.int({ required: true, description: 'Version to compare from (usually the older).' }),
        to: t.arg.int({
          required: true,
          description: 'Version to compare to (usually the newer); may be older than `from`.',
        }),
      },
      resolve: async (workflow, args, ctx) => {
        const versions = await ctx.prisma.workflowVersion.findMany({
          where: { workflowId: workflow.id, workspaceId: ctx.workspaceId, number: { in: [args.from, args.to] } },
          select: { number: true, definition: true },
        });
        const missing = (['from', 'to'] as const).filter((arg) => !versions.some((v) => v.number === args[arg]));
        if (missing.length)
          throw new ValidationError(
            missing.map((arg) => ({ path: [arg], message: `version ${args[arg]} does not exist` })),
          );
        const definitionOf = (number: number) => versions.find((v) => v.number === number)!.definition;
        return { ...diffDefinitions(definitionOf(args.from), definitionOf(args.to)), from: args.from, to: args.to };
      },
    }),
    // Not a relatedConnection: over several workflows Prisma reads every version of each and pages
    // in JavaScript, and its totalCount counts the history. Versions are numbered without gaps, so
    // a page is a known range of numbers (one batched statement) and the total is latestVersion.
    versions: t.connection(
      {
        type: VersionRef,
        nullable: false,
        description: 'Every version, newest first.',
        resolve: async (workflow, args, ctx, info) => {
          checkPageSize(args);
          const query = versionSelection(ctx, info, ['edges', 'node']);
          const load = async ({
            before,
            after,
            limit,
            inverted,
          }: {
            before?: string;
            after?: string;
            limit: number;
            inverted: boolean;
          }) =>
            (await versionPageLoader(ctx).load({
              workflowId: workflow.id,
              latestVersion: workflow.latestVersion,
              below: versionCursor(after, 'after'),
              above: versionCursor(before, 'before'),
              limit,
              inverted,
              query,
            })) as WorkflowVersion[];
          const connection = await resolveCursorConnection(
            {
              args,
              toCursor: (v: WorkflowVersion) => String(v.number),
              defaultSize: DEFAULT_PAGE_SIZE,
              maxSize: MAX_PAGE_SIZE,
            },
            load,
          );
          return { ...connection, totalCount: workflow.latestVersion };
        },
      },
      {
        fields: (c) => ({
          totalCount: c.int({ resolve: (connection) => (connection as unknown as { totalCount: number }).totalCount }),
        }),
      },
    ),
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
    tag: t.string({ description: 'Only workflows with this tag (tag name or global ID).' }),
  }),
});

builder.queryFields((t) => ({
  workflow: t.prismaField({
    type: 'Workflow',
    nullable: true,
    description:
      "One workflow by global ID or by name (case-insensitive). Unknown ids and names (and other workspaces' workflows) raise NOT_FOUND; a name several workflows share raises VALIDATION_FAILED listing their ids.",
    args: { id: t.arg.id({ required: true, description: 'Global ID of the workflow, or its name.' }) },
    resolve: async (query, _root, args, ctx) => {
      const id = await resolveWorkflowId(ctx, String(args.id), ['id']);
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
    // Checked here too: a selection of only totalCount never calls resolve.
    totalCount: (_parent, args, ctx) => (
      checkPageSize(args), ctx.prisma.workflow.count({ where: workflowWhere(ctx.workspaceId, args.filter) })
    ),
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

type WorkflowFilterArgs =
  | { status?: string[] | null; triggerType?: string[] | null; search?: string | null; tag?: string | null }
  | null
  | undefined;

function tagFilter(tag: string) {
  try {
    return { tags: { some: { tagId: parseGlobalId(tag, 'Tag') } } };
  } catch {
    return { tags: { some: { tag: { name: tag } } } };
  }
}

function workflowWhere(workspaceId: string, filter: WorkflowFilterArgs) {
  // Here rather than in resolve: a selection of only totalCount never calls resolve.
  checkSearch(filter?.search, ['filter', 'search']);
  const search = filter?.search?.trim();
  return {
    workspaceId,
    ...(filter?.status?.length ? { status: { in: filter.status as never } } : {}),
    ...(filter?.triggerType?.length ? { triggerType: { in: filter.triggerType as never } } : {}),
    ...(filter?.tag ? tagFilter(filter.tag) : {}),
    ...(search
      ? {
          OR: [
            { name: { contains: search, mode: 'insensitive' as const } },
            { description: { contains: search, mode: 'insensitive' as const } },
          ],
        }
      : {}),
  };
}
