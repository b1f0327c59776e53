// Business rules for workflows and their versions. Resolvers call these; so will webhooks,
// the scheduler and tests. Each mutation validates everything first and is one transaction.
//
// Version numbers: every change that creates a version first locks the workflow row
// (SELECT … FOR UPDATE) and only then reads the latest version, so concurrent changes
// serialise: they get consecutive numbers, and a patch always applies to the version it read.
import { isDeepStrictEqual } from 'node:util';
import type { Actor } from '../context.ts';
import type { PrismaClient } from '../db/client.ts';
import { ConflictError, NotFoundError, ValidationError, type Problem } from '../errors.ts';
import type { Prisma, TriggerType, WorkflowStatus } from '../generated/prisma/client.ts';
import { setWorkflowTags, validateTagNames } from '../tags/assign.ts';
import { isPlainObject, validateDefinition, type WorkflowDefinition } from './definition.ts';
import { applyDefinitionPatch, mergeMetadata, type DefinitionPatch } from './patch.ts';
import { settingsData, validateSettings, type SettingsInput } from './settings.ts';

type Tx = Prisma.TransactionClient;

export interface Scope {
  prisma: PrismaClient;
  workspaceId: string;
  actor: Actor;
}

export interface CreateWorkflowInput extends SettingsInput {
  name: string;
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
  definition?: DefinitionPatch | null;
  baseVersion?: number | null;
  strict?: boolean | null;
  commitMessage?: string | null;
  releaseLabels?: string[] | null;
}

export const NAME_MAX = 200;
export const DESCRIPTION_MAX = 5000;
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function checkName(name: unknown, path: (string | number)[]): Problem[] {
  if (typeof name !== 'string' || name.trim().length === 0) return [{ path, message: 'must not be empty' }];
  if (name.trim().length > NAME_MAX) return [{ path, message: `must be at most ${NAME_MAX} characters (got ${name.trim().length})` }];
  return [];
}

export function checkDescription(description: unknown, path: (string | number)[]): Problem[] {
  if (description == null) return [];
  if (typeof description !== 'string') return [{ path, message: 'must be a string' }];
  if (description.length > DESCRIPTION_MAX) return [{ path, message: `must be at most ${DESCRIPTION_MAX} characters (got ${description.length})` }];
  return [];
}

function checkLabels(labels: string[] | null | undefined, path: (string | number)[]): Problem[] {
  return (labels ?? []).flatMap((label, i) => (LABEL_PATTERN.test(label) ? [] : [{ path: [...path, i], message: 'must match ^[a-z0-9][a-z0-9._-]{0,62}$ (e.g. "production")' }]));
}

function definitionProblems(definition: unknown, path: (string | number)[]): Problem[] {
  return validateDefinition(definition).map((p) => ({ ...p, path: [...path, ...p.path] }));
}

/** The input/output schema arguments are stored in the (versioned) definition. */
function withSchemas(definition: unknown, input: { inputSchema?: unknown; outputSchema?: unknown }): unknown {
  if (!isPlainObject(definition)) return definition;
  const result: Record<string, unknown> = { ...definition };
  if (input.inputSchema != null) result.inputSchema = input.inputSchema;
  if (input.outputSchema != null) result.outputSchema = input.outputSchema;
  return result;
}

const actorId = (scope: Scope) => (scope.actor.kind === 'user' ? scope.actor.id : null);

async function lockWorkflow(tx: Tx, scope: Scope, id: string) {
  await tx.$queryRaw`SELECT id FROM "Workflow" WHERE id = ${id}::uuid AND "workspaceId" = ${scope.workspaceId}::uuid FOR UPDATE`;
  const workflow = await tx.workflow.findFirst({ where: { id, workspaceId: scope.workspaceId } });
  if (!workflow) throw new NotFoundError('Workflow', id);
  return workflow;
}

async function versionOf(tx: Tx, workflowId: string, number: number, path: (string | number)[]) {
  const version = await tx.workflowVersion.findUnique({ where: { workflowId_number: { workflowId, number } } });
  if (!version) throw ValidationError.single(path, `version ${number} does not exist`);
  return version;
}

/** Appends the next version; the caller holds the workflow's row lock. */
async function appendVersion(tx: Tx, scope: Scope, workflow: { id: string; latestVersion: number }, definition: unknown, changeSummary: string | null, baseVersion: number | null) {
  const number = workflow.latestVersion + 1;
  const version = await tx.workflowVersion.create({
    data: { workspaceId: scope.workspaceId, workflowId: workflow.id, number, definition: definition as Prisma.InputJsonValue, changeSummary, baseVersion, createdById: actorId(scope) },
  });
  await tx.workflow.update({ where: { id: workflow.id }, data: { latestVersion: number } });
  return version;
}

async function moveLabels(tx: Tx, scope: Scope, workflowId: string, labels: string[], versionId: string) {
  for (const label of labels) {
    await tx.releaseLabel.upsert({
      where: { workflowId_label: { workflowId, label } },
      create: { workspaceId: scope.workspaceId, workflowId, label, versionId },
      update: { versionId },
    });
  }
}

/** Create and update (PUT) validate a whole workflow the same way. */
function assertValidWorkflow(input: CreateWorkflowInput, definition: unknown): void {
  const problems = [
    ...checkName(input.name, ['input', 'name']),
    ...checkDescription(input.description, ['input', 'description']),
    ...definitionProblems(definition, ['input', 'definition']),
    ...validateSettings(input, ['input']),
    ...validateTagNames(input.tags, ['input', 'tags']),
  ];
  if (problems.length) throw new ValidationError(problems);
}

export async function createWorkflow(scope: Scope, input: CreateWorkflowInput) {
  const definition = withSchemas(input.definition, input);
  assertValidWorkflow(input, definition);

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
        ...(settingsData(input, false) as object),
      } as Prisma.WorkflowCreateInput,
    });
    await tx.workflowVersion.create({
      data: { workspaceId: scope.workspaceId, workflowId: workflow.id, number: 1, definition: definition as Prisma.InputJsonValue, changeSummary: 'Initial version', createdById: actorId(scope) },
    });
    if (input.tags?.length) await setWorkflowTags(tx, scope.workspaceId, workflow.id, input.tags);
    return workflow;
  });
}

/** PUT: replaces the workflow; a changed definition becomes a new version. */
export async function updateWorkflow(scope: Scope, input: UpdateWorkflowInput) {
  const definition = withSchemas(input.definition, input);
  assertValidWorkflow(input, definition);
  return scope.prisma.$transaction(async (tx) => {
    const workflow = await lockWorkflow(tx, scope, input.id);
    const latest = await versionOf(tx, workflow.id, workflow.latestVersion, ['input', 'id']);
    if (!isDeepStrictEqual(latest.definition, definition)) {
      await appendVersion(tx, scope, workflow, definition, input.changeSummary ?? null, workflow.latestVersion);
    }
    await setWorkflowTags(tx, scope.workspaceId, workflow.id, input.tags ?? []);
    return tx.workflow.update({
      where: { id: workflow.id },
      data: { name: input.name.trim(), description: input.description ?? null, status: input.status ?? workflow.status, triggerType: input.triggerType ?? workflow.triggerType, ...settingsData(input, true) },
    });
  });
}

/** PATCH: only the fields present are applied (absent ≠ null). */
export async function patchWorkflow(scope: Scope, input: PatchWorkflowInput) {
  const has = (key: keyof PatchWorkflowInput) => Object.hasOwn(input, key) && input[key] !== undefined;
  const problems: Problem[] = [
    ...(has('name') ? checkName(input.name, ['input', 'name']) : []),
    ...(has('description') ? checkDescription(input.description, ['input', 'description']) : []),
    ...validateSettings(input, ['input']),
    ...validateTagNames(input.tags, ['input', 'tags']),
    ...checkLabels(input.releaseLabels, ['input', 'releaseLabels']),
  ];
  if (has('metadata') && input.metadata !== null && !isPlainObject(input.metadata)) problems.push({ path: ['input', 'metadata'], message: 'must be a JSON object or null' });
  if (has('definition') && input.definition !== null && (!isPlainObject(input.definition) || (input.definition.steps !== undefined && !isPlainObject(input.definition.steps)))) {
    problems.push({ path: ['input', 'definition'], message: 'must be an object like { steps: { <stepId>: { …fields } | null } }' });
  }
  if (problems.length) throw new ValidationError(problems);

  return scope.prisma.$transaction(async (tx) => {
    const workflow = await lockWorkflow(tx, scope, input.id);
    if (input.strict && input.baseVersion != null && input.baseVersion !== workflow.latestVersion) {
      throw new ConflictError(`baseVersion ${input.baseVersion} is stale: the latest version is ${workflow.latestVersion}. Re-read the workflow and patch again.`, { latestVersion: workflow.latestVersion });
    }
    let newVersionId: string | null = null;
    if (input.definition) {
      const baseNumber = input.baseVersion ?? workflow.latestVersion;
      const base = await versionOf(tx, workflow.id, baseNumber, ['input', 'baseVersion']);
      const definition = applyDefinitionPatch(base.definition as unknown as WorkflowDefinition, input.definition);
      const definitionErrors = definitionProblems(definition, ['input', 'definition']);
      if (definitionErrors.length) throw new ValidationError(definitionErrors);
      const version = await appendVersion(tx, scope, workflow, definition, input.commitMessage ?? null, baseNumber);
      newVersionId = version.id;
    }
    if (input.releaseLabels?.length) {
      if (!newVersionId) throw ValidationError.single(['input', 'releaseLabels'], 'release labels move to the new version: give a definition patch too, or use setReleaseLabel');
      await moveLabels(tx, scope, workflow.id, input.releaseLabels, newVersionId);
    }
    if (has('tags')) await setWorkflowTags(tx, scope.workspaceId, workflow.id, input.tags ?? []);
    const settings: SettingsInput = { ...input };
    if (has('metadata')) settings.metadata = mergeMetadata(workflow.metadata, input.metadata);
    return tx.workflow.update({
      where: { id: workflow.id },
      data: {
        ...(has('name') ? { name: input.name!.trim() } : {}),
        ...(has('description') ? { description: input.description ?? null } : {}),
        ...(has('status') && input.status ? { status: input.status } : {}),
        ...(has('triggerType') && input.triggerType ? { triggerType: input.triggerType } : {}),
        ...settingsData(settings, false),
      },
    });
  });
}

export async function getWorkflow(scope: Scope, id: string) {
  const workflow = await scope.prisma.workflow.findFirst({ where: { id, workspaceId: scope.workspaceId } });
  if (!workflow) throw new NotFoundError('Workflow', id);
  return workflow;
}

export async function deleteWorkflow(scope: Scope, id: string) {
  const { count } = await scope.prisma.workflow.deleteMany({ where: { id, workspaceId: scope.workspaceId } });
  if (count === 0) throw new NotFoundError('Workflow', id);
}

export async function setWorkflowStatus(scope: Scope, id: string, status: WorkflowStatus) {
  await getWorkflow(scope, id);
  return scope.prisma.workflow.update({ where: { id }, data: { status } });
}

export async function duplicateWorkflow(scope: Scope, id: string, name?: string | null) {
  const source = await getWorkflow(scope, id);
  const newName = name ?? `${source.name.slice(0, NAME_MAX - ' (copy)'.length)} (copy)`;
  const problems = checkName(newName, ['input', 'name']);
  if (problems.length) throw new ValidationError(problems);
  return scope.prisma.$transaction(async (tx) => {
    const latest = await versionOf(tx, source.id, source.latestVersion, ['input', 'id']);
    const tags = await tx.workflowTag.findMany({ where: { workflowId: source.id }, select: { tagId: true } });
    const { id: _id, createdAt: _c, updatedAt: _u, workspaceId: _w, latestVersion: _l, ...settings } = source;
    const copy = await tx.workflow.create({
      data: { ...settings, workspaceId: scope.workspaceId, name: newName.trim(), latestVersion: 1, createdById: actorId(scope) } as Prisma.WorkflowUncheckedCreateInput,
    });
    await tx.workflowVersion.create({
      data: { workspaceId: scope.workspaceId, workflowId: copy.id, number: 1, definition: latest.definition as Prisma.InputJsonValue, changeSummary: `Duplicated from "${source.name}" version ${latest.number}`, createdById: actorId(scope) },
    });
    if (tags.length) await tx.workflowTag.createMany({ data: tags.map((t) => ({ workflowId: copy.id, tagId: t.tagId, workspaceId: scope.workspaceId })) });
    return copy;
  });
}

export async function rollbackWorkflow(scope: Scope, id: string, versionNumber: number) {
  return scope.prisma.$transaction(async (tx) => {
    const workflow = await lockWorkflow(tx, scope, id);
    const target = await versionOf(tx, workflow.id, versionNumber, ['input', 'version']);
    await appendVersion(tx, scope, workflow, target.definition, `Rollback to version ${versionNumber}`, versionNumber);
    return tx.workflow.findUniqueOrThrow({ where: { id: workflow.id } });
  });
}

export async function setReleaseLabel(scope: Scope, input: { workflowId: string; label: string; version: number }) {
  const problems = checkLabels([input.label], ['input', 'label']).map((p) => ({ ...p, path: ['input', 'label'] }));
  if (problems.length) throw new ValidationError(problems);
  return scope.prisma.$transaction(async (tx) => {
    const workflow = await lockWorkflow(tx, scope, input.workflowId);
    const version = await versionOf(tx, workflow.id, input.version, ['input', 'version']);
    await moveLabels(tx, scope, workflow.id, [input.label], version.id);
    return workflow;
  });
}

export async function removeReleaseLabel(scope: Scope, input: { workflowId: string; label: string }) {
  const workflow = await getWorkflow(scope, input.workflowId);
  const { count } = await scope.prisma.releaseLabel.deleteMany({ where: { workflowId: workflow.id, label: input.label } });
  if (count === 0) throw ValidationError.single(['input', 'label'], `no release label '${input.label}' on this workflow`);
  return workflow;
}
