// Business rules for workflows and their versions. Resolvers call these; so will webhooks,
// the scheduler and tests. Each mutation validates its input first, reporting every problem
// with its path, and is then ONE transaction in which every query uses `tx`.
//
// Version numbers and concurrency: every mutation that may create a version (update, patch,
// rollback) or move a release label first takes the workflow's row lock (SELECT … FOR UPDATE)
// and only then reads latestVersion and the base version. Concurrent changes of one workflow
// therefore run one after the other, each seeing what the previous one committed: version
// numbers are consecutive (never duplicated, never skipped), a patch of the latest version
// always includes the changes committed before it, and a strict patch can tell that its
// baseVersion went stale. The unique (workflowId, number) index is the backstop. A row lock
// rather than an atomic `latestVersion + 1 … RETURNING` because not every locked mutation
// creates a version (an unchanged PUT, a patch of settings only), and both take the same lock.
import { isDeepStrictEqual } from 'node:util';
import { ConflictError, NotFoundError, ValidationError, type Problem } from '../errors.ts';
import type { Prisma, TriggerType, Workflow, WorkflowStatus } from '../generated/prisma/client.ts';
import type { ServiceScope } from '../scope.ts';
import { setWorkflowTags, validateTagNames } from '../tags/assign.ts';
import { isPlainObject } from '../json.ts';
import { validateDefinition, type WorkflowDefinition } from './definition.ts';
import { checkMetadataPatch, mergeMetadata } from './metadata.ts';
import { applyDefinitionPatch, checkDefinitionPatch, toPatchPaths, type DefinitionPatch } from './patch.ts';
import { settingsData, validateSettings, type SettingsInput } from './settings.ts';
import { nameOf, normaliseDefinition, normalisePatch } from './spellings.ts';
import { agentReferenceProblems } from '../agents/service.ts';
import { inWorkspace } from '../ids.ts';

type Tx = Prisma.TransactionClient;
type Path = (string | number)[];

export interface CreateWorkflowInput extends SettingsInput {
  /** May instead be given inside the definition (the seeds' spelling). */
  name?: string | null;
  description?: string | null;
  definition?: unknown;
  status?: WorkflowStatus | null;
  triggerType?: TriggerType | null;
  tags?: string[] | null;
  inputSchema?: unknown;
  outputSchema?: unknown;
}

export interface UpdateWorkflowInput extends CreateWorkflowInput {
  id: string;
  changeSummary?: string | null;
}

export interface PatchWorkflowInput extends SettingsInput {
  id: string;
  name?: string | null;
  description?: string | null;
  status?: WorkflowStatus | null;
  triggerType?: TriggerType | null;
  tags?: string[] | null;
  /** A DefinitionPatch (shape checked here: it arrives as JSON). */
  definition?: unknown;
  inputSchema?: unknown;
  outputSchema?: unknown;
  baseVersion?: number | null;
  strict?: boolean | null;
  commitMessage?: string | null;
  releaseLabels?: string[] | null;
}

export const NAME_MAX = 200;
export const DESCRIPTION_MAX = 5000;
export const CHANGE_SUMMARY_MAX = 5000;
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const COPY_SUFFIX = ' (copy)';
const SCHEMA_KEYS = ['inputSchema', 'outputSchema'] as const;

// ---------------------------------------------------------------------------------------------
// Input checks: each returns every problem it finds.

export function checkName(name: unknown, path: Path): Problem[] {
  if (typeof name !== 'string' || name.trim().length === 0) return [{ path, message: 'must not be empty' }];
  if (name.trim().length > NAME_MAX)
    return [{ path, message: `must be at most ${NAME_MAX} characters (got ${name.trim().length})` }];
  return [];
}

export function checkDescription(description: unknown, path: Path): Problem[] {
  if (description == null) return [];
  if (typeof description !== 'string') return [{ path, message: 'must be a string' }];
  if (description.length > DESCRIPTION_MAX)
    return [{ path, message: `must be at most ${DESCRIPTION_MAX} characters (got ${description.length})` }];
  return [];
}

function checkChangeSummary(summary: string | null | undefined, path: Path): Problem[] {
  return summary != null && summary.length > CHANGE_SUMMARY_MAX
    ? [{ path, message: `must be at most ${CHANGE_SUMMARY_MAX} characters (got ${summary.length})` }]
    : [];
}

function checkLabel(label: string, path: Path): Problem[] {
  return LABEL_PATTERN.test(label)
    ? []
    : [{ path, message: 'must match ^[a-z0-9][a-z0-9._-]{0,62}$ (lower case, e.g. "production")' }];
}

function checkVersionNumber(number: number | null | undefined, path: Path): Problem[] {
  return number != null && number < 1 ? [{ path, message: 'must be a version number (1 or more)' }] : [];
}

/**
 * Problems of a whole definition, with paths from the root of the input. A schema given as its
 * own input field (inputSchema/outputSchema) is reported there rather than inside `definition`.
 */
function definitionProblems(problems: Problem[], input: { inputSchema?: unknown; outputSchema?: unknown }): Problem[] {
  return problems.map((problem) => {
    const [head, ...rest] = problem.path;
    const ownField = SCHEMA_KEYS.find((key) => key === head && input[key] != null);
    return { ...problem, path: ownField ? ['input', ownField, ...rest] : ['input', 'definition', ...problem.path] };
  });
}

/** The input/output schema fields are stored in the (versioned) definition; they win over it. */
function withSchemas(definition: unknown, input: { inputSchema?: unknown; outputSchema?: unknown }): unknown {
  if (!isPlainObject(definition)) return definition;
  const result: Record<string, unknown> = { ...definition };
  for (const key of SCHEMA_KEYS) if (input[key] != null) result[key] = input[key];
  return result;
}

/**
 * Create and update (PUT) validate a whole workflow the same way: the definition in canonical
 * form (spellings.ts), with its name moved to the workflow, and every agent it names existing.
 */
async function checkWholeWorkflow<T extends CreateWorkflowInput & { changeSummary?: string | null }>(
  scope: ServiceScope,
  raw: T,
): Promise<{ input: T & { name: string }; definition: unknown }> {
  const normalised = normaliseDefinition(raw.definition);
  const named = nameOf(raw.name, normalised.name);
  const input = { ...raw, name: named.name };
  const definition = withSchemas(normalised.definition, input);
  const problems = [
    ...named.problems,
    ...definitionProblems(normalised.problems, input),
    ...wholeWorkflowProblems(input, definition),
    ...definitionProblems(await agentReferenceProblems(scope.prisma, scope.workspaceId, definition), input),
  ];
  throwIfAny(problems);
  return { input: input as T & { name: string }, definition };
}

function wholeWorkflowProblems(
  input: CreateWorkflowInput & { changeSummary?: string | null },
  definition: unknown,
): Problem[] {
  return [
    ...(input.name != null
      ? checkName(input.name, ['input', 'name'])
      : [{ path: ['input', 'name'], message: "is required (or give it as the definition's name)" }]),
    ...checkDescription(input.description, ['input', 'description']),
    ...definitionProblems(validateDefinition(definition), input),
    ...validateSettings(input, ['input']),
    ...validateTagNames(input.tags, ['input', 'tags']),
    ...checkChangeSummary(input.changeSummary, ['input', 'changeSummary']),
  ];
}

function throwIfAny(problems: Problem[]): void {
  if (problems.length) throw new ValidationError(problems);
}

// ---------------------------------------------------------------------------------------------
// Queries shared by the mutations. All run inside the caller's transaction.

const actorId = (scope: ServiceScope) => (scope.actor.kind === 'user' ? scope.actor.id : null);

/** Locks the workflow's row for the rest of the transaction (see the top of this file). */
async function lockWorkflow(tx: Tx, scope: ServiceScope, id: string): Promise<Workflow> {
  await tx.$queryRaw`SELECT id FROM "Workflow" WHERE id = ${id}::uuid AND "workspaceId" = ${scope.workspaceId}::uuid FOR UPDATE`;
  const workflow = await tx.workflow.findFirst({ where: inWorkspace(id, scope) });
  if (!workflow) throw new NotFoundError('Workflow', id);
  return workflow;
}

function findVersion(tx: Tx, workflowId: string, number: number) {
  return tx.workflowVersion.findUnique({ where: { workflowId_number: { workflowId, number } } });
}

async function versionOf(tx: Tx, workflow: Workflow, number: number, path: Path) {
  const version = await findVersion(tx, workflow.id, number);
  if (!version)
    throw ValidationError.single(path, `version ${number} does not exist (the latest is ${workflow.latestVersion})`);
  return version;
}

/**
 * Inserts version latestVersion + 1. The caller holds the row lock and sets
 * Workflow.latestVersion to the returned number in its final update.
 */
function appendVersion(
  tx: Tx,
  scope: ServiceScope,
  workflow: Workflow,
  definition: unknown,
  changeSummary: string | null,
  baseVersion: number | null,
) {
  return tx.workflowVersion.create({
    data: {
      workspaceId: scope.workspaceId,
      workflowId: workflow.id,
      number: workflow.latestVersion + 1,
      definition: definition as Prisma.InputJsonValue,
      changeSummary,
      baseVersion,
      createdById: actorId(scope),
    },
  });
}

async function moveLabels(
  tx: Tx,
  scope: ServiceScope,
  workflowId: string,
  labels: string[],
  versionId: string,
): Promise<void> {
  for (const label of new Set(labels)) {
    await tx.releaseLabel.upsert({
      where: { workflowId_label: { workflowId, label } },
      create: { workspaceId: scope.workspaceId, workflowId, label, versionId },
      update: { versionId },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations.

export async function createWorkflow(scope: ServiceScope, raw: CreateWorkflowInput) {
  const { input, definition } = await checkWholeWorkflow(scope, raw);
  return scope.prisma.$transaction(async (tx) => {
    const workflow = await tx.workflow.create({
      data: {
        workspace: { connect: { id: scope.workspaceId } },
        name: input.name.trim(),
        description: input.description ?? null,
        status: input.status ?? 'DRAFT',
        triggerType: input.triggerType ?? 'MANUAL',
        latestVersion: 1,
        createdById: actorId(scope),
        ...(settingsData(input, false, scope.secretsKey ?? null) as object),
      } as Prisma.WorkflowCreateInput,
    });
    await tx.workflowVersion.create({
      data: {
        workspaceId: scope.workspaceId,
        workflowId: workflow.id,
        number: 1,
        definition: definition as Prisma.InputJsonValue,
        changeSummary: 'Initial version',
        createdById: actorId(scope),
      },
    });
    if (input.tags?.length) await setWorkflowTags(tx, scope.workspaceId, workflow.id, input.tags);
    return workflow;
  });
}

/** PUT: replaces the workflow; a changed definition becomes a new version, an unchanged one does not. */
export async function updateWorkflow(scope: ServiceScope, raw: UpdateWorkflowInput) {
  const { input, definition } = await checkWholeWorkflow(scope, raw);
  return scope.prisma.$transaction(async (tx) => {
    const workflow = await lockWorkflow(tx, scope, input.id);
    const latest = await versionOf(tx, workflow, workflow.latestVersion, ['input', 'id']);
    const version = isDeepStrictEqual(latest.definition, definition)
      ? null
      : await appendVersion(tx, scope, workflow, definition, input.changeSummary ?? null, workflow.latestVersion);
    await setWorkflowTags(tx, scope.workspaceId, workflow.id, input.tags ?? []);
    return tx.workflow.update({
      where: { id: workflow.id },
      data: {
        name: input.name.trim(),
        description: input.description ?? null,
        status: input.status ?? workflow.status,
        triggerType: input.triggerType ?? workflow.triggerType,
        ...(version ? { latestVersion: version.number } : {}),
        ...settingsData(input, true, scope.secretsKey ?? null, workflow.postRunChecks),
      },
    });
  });
}

/** The definition patch of a patchWorkflow input, with the schema fields folded in; null when none. */
function definitionPatchOf(
  input: PatchWorkflowInput,
  has: (key: keyof PatchWorkflowInput) => boolean,
  problems: Problem[],
): DefinitionPatch | null {
  const schemaFields = SCHEMA_KEYS.filter((key) => has(key));
  if (!has('definition') && schemaFields.length === 0) return null;
  // Seed spellings are mapped here already so that the shape check knows them; config fields
  // are mapped again once the base version tells the type of each changed step.
  const early = isPlainObject(input.definition)
    ? normalisePatch(input.definition, () => undefined)
    : { patch: {}, problems: [] };
  problems.push(...early.problems.map((p) => ({ ...p, path: ['input', 'definition', ...p.path] })));
  const patch: Record<string, unknown> = { ...early.patch };
  for (const key of schemaFields) patch[key] = input[key]; // the field wins; null removes the schema
  return patch as DefinitionPatch;
}

/** Every problem of a patch that can be found without reading the workflow. */
function patchInputProblems(
  input: PatchWorkflowInput,
  has: (key: keyof PatchWorkflowInput) => boolean,
  createsVersion: boolean,
): Problem[] {
  const problems: Problem[] = [
    ...(has('name') ? checkName(input.name, ['input', 'name']) : []),
    ...(has('description') ? checkDescription(input.description, ['input', 'description']) : []),
    ...validateSettings({ ...input, metadata: undefined }, ['input']),
    ...(has('metadata') ? checkMetadataPatch(input.metadata, ['input', 'metadata']) : []),
    ...validateTagNames(input.tags, ['input', 'tags']),
    ...(input.releaseLabels ?? []).flatMap((label, i) => checkLabel(label, ['input', 'releaseLabels', i])),
    ...checkVersionNumber(input.baseVersion, ['input', 'baseVersion']),
    ...checkChangeSummary(input.commitMessage, ['input', 'commitMessage']),
  ];
  for (const key of ['status', 'triggerType'] as const) {
    if (has(key) && input[key] === null)
      problems.push({ path: ['input', key], message: 'cannot be null; leave the field out to keep the current value' });
  }
  if (has('definition')) {
    if (input.definition === null)
      problems.push({
        path: ['input', 'definition'],
        message: 'cannot be null: a workflow always has a definition; leave the field out to keep it',
      });
    else problems.push(...checkDefinitionPatch(input.definition, ['input', 'definition']));
  }
  if (input.releaseLabels?.length && !createsVersion) {
    problems.push({
      path: ['input', 'releaseLabels'],
      message:
        'release labels move to the version this patch creates: give a definition patch too, or use setReleaseLabel',
    });
  }
  return problems;
}

/**
 * PATCH: only the fields present are applied (absent ≠ null). A definition patch (or an
 * inputSchema/outputSchema field) creates a new version from baseVersion (default: the latest).
 */
export async function patchWorkflow(scope: ServiceScope, input: PatchWorkflowInput) {
  const has = (key: keyof PatchWorkflowInput) => Object.hasOwn(input, key) && input[key] !== undefined;
  const spellingProblems: Problem[] = [];
  const patch = definitionPatchOf(input, has, spellingProblems);
  const problems = [...spellingProblems, ...patchInputProblems(input, has, patch !== null)];
  // Problems of the patched definition can only be found once the base version is read; if the
  // patch or its baseVersion is malformed there is nothing to apply, so report what we have now.
  if (problems.length && (!patch || problems.some((p) => p.path[1] === 'definition' || p.path[1] === 'baseVersion')))
    throw new ValidationError(problems);

  return scope.prisma.$transaction(async (tx) => {
    const workflow = await lockWorkflow(tx, scope, input.id);
    if (input.strict && input.baseVersion != null && input.baseVersion < workflow.latestVersion) {
      throw new ConflictError(
        `baseVersion ${input.baseVersion} is stale: the latest version is ${workflow.latestVersion}. Re-read the workflow and patch again.`,
        { latestVersion: workflow.latestVersion },
      );
    }
    let definition: WorkflowDefinition | null = null;
    const baseNumber = input.baseVersion ?? workflow.latestVersion;
    if (baseNumber > workflow.latestVersion) {
      // Also without a definition change: a base from the future means the caller is confused about what it read.
      throw ValidationError.single(
        ['input', 'baseVersion'],
        `version ${baseNumber} does not exist (the latest is ${workflow.latestVersion})`,
      );
    }
    if (patch) {
      const base = await findVersion(tx, workflow.id, baseNumber);
      if (!base) {
        problems.push({
          path: ['input', 'baseVersion'],
          message: `version ${baseNumber} does not exist (the latest is ${workflow.latestVersion})`,
        });
      } else {
        const baseDefinition = base.definition as unknown as WorkflowDefinition;
        const canonical = normalisePatch(
          patch as Record<string, unknown>,
          (id) => baseDefinition.steps.find((s) => s.id === id)?.type,
        );
        const applied = applyDefinitionPatch(baseDefinition, canonical.patch as DefinitionPatch);
        definition = applied.definition;
        const agentProblems = await agentReferenceProblems(tx, scope.workspaceId, definition);
        problems.push(
          ...definitionProblems(
            [
              ...canonical.problems,
              ...applied.problems,
              ...toPatchPaths([...validateDefinition(definition), ...agentProblems], definition),
            ],
            input,
          ),
        );
      }
    }
    throwIfAny(problems);

    const version = definition
      ? await appendVersion(tx, scope, workflow, definition, input.commitMessage ?? null, baseNumber)
      : null;
    if (version && input.releaseLabels?.length)
      await moveLabels(tx, scope, workflow.id, input.releaseLabels, version.id);
    if (has('tags')) await setWorkflowTags(tx, scope.workspaceId, workflow.id, input.tags ?? []);
    const settings: SettingsInput = { ...input };
    if (has('metadata'))
      settings.metadata = mergeMetadata(workflow.metadata, input.metadata as Record<string, unknown> | null);
    return tx.workflow.update({
      where: { id: workflow.id },
      data: {
        ...(has('name') ? { name: input.name!.trim() } : {}),
        ...(has('description') ? { description: input.description ?? null } : {}),
        ...(input.status ? { status: input.status } : {}),
        ...(input.triggerType ? { triggerType: input.triggerType } : {}),
        ...(version ? { latestVersion: version.number } : {}),
        ...settingsData(settings, false, scope.secretsKey ?? null, workflow.postRunChecks),
      },
    });
  });
}

export async function deleteWorkflow(scope: ServiceScope, id: string): Promise<void> {
  // One statement: versions, labels, tags, runs and schedules go with it (ON DELETE CASCADE).
  const { count } = await scope.prisma.workflow.deleteMany({ where: inWorkspace(id, scope) });
  if (count === 0) throw new NotFoundError('Workflow', id);
}

export async function setWorkflowStatus(scope: ServiceScope, id: string, status: WorkflowStatus) {
  return scope.prisma.$transaction(async (tx) => {
    const { count } = await tx.workflow.updateMany({ where: inWorkspace(id, scope), data: { status } });
    if (count === 0) throw new NotFoundError('Workflow', id);
    return tx.workflow.findFirstOrThrow({ where: inWorkspace(id, scope) });
  });
}

/** "<name> (copy)", the name shortened so that the whole fits in NAME_MAX characters. */
export function copyName(name: string): string {
  return `${name.slice(0, NAME_MAX - COPY_SUFFIX.length).trimEnd()}${COPY_SUFFIX}`;
}

/**
 * A new workflow with the source's current definition, description, tags and settings, and a
 * history of its own (version 1). It starts as DRAFT; release labels, runs, schedules and the
 * inbound webhook secret (a credential of the source's endpoint) are not copied.
 */
export async function duplicateWorkflow(scope: ServiceScope, id: string, name?: string | null) {
  if (name != null) throwIfAny(checkName(name, ['input', 'name']));
  return scope.prisma.$transaction(async (tx) => {
    const source = await tx.workflow.findFirst({
      where: inWorkspace(id, scope),
      include: { versions: { orderBy: { number: 'desc' }, take: 1 }, tags: { select: { tagId: true } } },
    });
    if (!source) throw new NotFoundError('Workflow', id);
    const current = source.versions[0]!;
    const copy = await tx.workflow.create({
      data: {
        workspaceId: scope.workspaceId,
        name: name?.trim() ?? copyName(source.name),
        description: source.description,
        status: 'DRAFT',
        triggerType: source.triggerType,
        latestVersion: 1,
        metadata: (source.metadata ?? undefined) as Prisma.InputJsonValue | undefined,
        webhooksEnabled: source.webhooksEnabled,
        webhookUrl: source.webhookUrl,
        webhookSecret: source.webhookSecret,
        commandAllowlist: source.commandAllowlist,
        postRunChecks: (source.postRunChecks ?? undefined) as Prisma.InputJsonValue | undefined,
        maxConcurrentRuns: source.maxConcurrentRuns,
        concurrency: (source.concurrency ?? undefined) as Prisma.InputJsonValue | undefined,
        createdById: actorId(scope),
      },
    });
    await tx.workflowVersion.create({
      data: {
        workspaceId: scope.workspaceId,
        workflowId: copy.id,
        number: 1,
        definition: current.definition as Prisma.InputJsonValue,
        changeSummary: `Duplicated from "${source.name}" version ${current.number}`,
        createdById: actorId(scope),
      },
    });
    if (source.tags.length)
      await tx.workflowTag.createMany({
        data: source.tags.map((t) => ({ workflowId: copy.id, tagId: t.tagId, workspaceId: scope.workspaceId })),
      });
    return copy;
  });
}

/** A new version whose definition is `versionNumber`'s (baseVersion = it). */
export async function rollbackWorkflow(scope: ServiceScope, id: string, versionNumber: number) {
  throwIfAny(checkVersionNumber(versionNumber, ['input', 'version']));
  return scope.prisma.$transaction(async (tx) => {
    const workflow = await lockWorkflow(tx, scope, id);
    const target = await versionOf(tx, workflow, versionNumber, ['input', 'version']);
    const version = await appendVersion(
      tx,
      scope,
      workflow,
      target.definition,
      `Rollback to version ${versionNumber}`,
      versionNumber,
    );
    return tx.workflow.update({ where: { id: workflow.id }, data: { latestVersion: version.number } });
  });
}

/** Points `label` at a version, creating the label or moving it. */
export async function setReleaseLabel(
  scope: ServiceScope,
  input: { workflowId: string; label: string; version: number },
) {
  throwIfAny([
    ...checkLabel(input.label, ['input', 'label']),
    ...checkVersionNumber(input.version, ['input', 'version']),
  ]);
  return scope.prisma.$transaction(async (tx) => {
    const workflow = await lockWorkflow(tx, scope, input.workflowId);
    const version = await versionOf(tx, workflow, input.version, ['input', 'version']);
    await moveLabels(tx, scope, workflow.id, [input.label], version.id);
    return workflow;
  });
}

export async function removeReleaseLabel(scope: ServiceScope, input: { workflowId: string; label: string }) {
  return scope.prisma.$transaction(async (tx) => {
    const workflow = await lockWorkflow(tx, scope, input.workflowId);
    const { count } = await tx.releaseLabel.deleteMany({
      where: { workflowId: workflow.id, workspaceId: scope.workspaceId, label: input.label },
    });
    if (count === 0)
      throw ValidationError.single(['input', 'label'], `this workflow has no release label '${input.label}'`);
    return workflow;
  });
}
