// Tags and tag groups (name, color, emoji, description, order, archived, optional group). Names are unique per workspace; a duplicate is a VALIDATION_FAILED problem
// on the name, so forms can show it next to the field.
import { NotFoundError, ValidationError, type Problem } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { ServiceScope } from '../scope.ts';
import { TAG_NAME_MAX } from './assign.ts';
import { inWorkspace } from '../ids.ts';

const COLOR = /^#[0-9a-fA-F]{6}$/;

export interface TagFields {
  name?: string | null;
  color?: string | null;
  emoji?: string | null;
  description?: string | null;
  order?: number | null;
  isArchived?: boolean | null;
  groupId?: string | null;
}

function checkFields(input: TagFields, requireName: boolean): Problem[] {
  const problems: Problem[] = [];
  const has = (key: keyof TagFields) => Object.hasOwn(input, key) && input[key] !== undefined;
  if (requireName || has('name')) {
    if (typeof input.name !== 'string' || !input.name.trim() || input.name.trim().length > TAG_NAME_MAX)
      problems.push({ path: ['input', 'name'], message: `must be 1–${TAG_NAME_MAX} characters` });
  }
  if (input.color != null && !COLOR.test(input.color))
    problems.push({ path: ['input', 'color'], message: 'must be a hex color like #1f6feb' });
  if (input.emoji != null && [...input.emoji].length > 8)
    problems.push({ path: ['input', 'emoji'], message: 'must be a single emoji' });
  if (input.description != null && input.description.length > 1000)
    problems.push({ path: ['input', 'description'], message: 'must be at most 1000 characters' });
  return problems;
}

function fieldsData(input: TagFields) {
  const data: Record<string, unknown> = {};
  for (const key of ['color', 'emoji', 'description'] as const)
    if (Object.hasOwn(input, key) && input[key] !== undefined) data[key] = input[key];
  if (input.name != null) data.name = input.name.trim();
  if (input.order != null) data.order = input.order;
  if (input.isArchived != null) data.isArchived = input.isArchived;
  return data;
}

async function uniqueName<T>(work: () => Promise<T>, name: string | null | undefined): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002')
      throw ValidationError.single(
        ['input', 'name'],
        `a tag or group named '${name}' already exists in this workspace`,
      );
    throw error;
  }
}

async function checkGroup(scope: ServiceScope, groupId: string | null | undefined) {
  if (!groupId) return;
  const group = await scope.prisma.tagGroup.findFirst({ where: inWorkspace(groupId, scope) });
  if (!group) throw new NotFoundError('TagGroup', groupId);
}

export async function createTag(scope: ServiceScope, input: TagFields & { name: string }) {
  const problems = checkFields(input, true);
  if (problems.length) throw new ValidationError(problems);
  await checkGroup(scope, input.groupId);
  return uniqueName(
    () =>
      scope.prisma.tag.create({
        data: {
          ...(fieldsData(input) as { name: string }),
          workspaceId: scope.workspaceId,
          groupId: input.groupId ?? null,
        },
      }),
    input.name,
  );
}

export async function updateTag(scope: ServiceScope, id: string, input: TagFields) {
  const problems = checkFields(input, false);
  if (problems.length) throw new ValidationError(problems);
  const tag = await scope.prisma.tag.findFirst({ where: inWorkspace(id, scope) });
  if (!tag) throw new NotFoundError('Tag', id);
  if (Object.hasOwn(input, 'groupId')) await checkGroup(scope, input.groupId);
  const data: Prisma.TagUncheckedUpdateInput = {
    ...fieldsData(input),
    ...(Object.hasOwn(input, 'groupId') && input.groupId !== undefined ? { groupId: input.groupId } : {}),
  };
  return uniqueName(() => scope.prisma.tag.update({ where: { id }, data }), input.name);
}

export async function deleteTag(scope: ServiceScope, id: string) {
  const { count } = await scope.prisma.tag.deleteMany({ where: inWorkspace(id, scope) });
  if (count === 0) throw new NotFoundError('Tag', id);
}

export async function createTagGroup(scope: ServiceScope, input: TagFields & { name: string }) {
  const problems = checkFields(input, true);
  if (problems.length) throw new ValidationError(problems);
  const { isArchived: _a, ...data } = fieldsData(input);
  return uniqueName(
    () => scope.prisma.tagGroup.create({ data: { ...(data as { name: string }), workspaceId: scope.workspaceId } }),
    input.name,
  );
}

export async function updateTagGroup(scope: ServiceScope, id: string, input: TagFields) {
  const problems = checkFields(input, false);
  if (problems.length) throw new ValidationError(problems);
  const group = await scope.prisma.tagGroup.findFirst({ where: inWorkspace(id, scope) });
  if (!group) throw new NotFoundError('TagGroup', id);
  const { isArchived: _a, ...data } = fieldsData(input);
  return uniqueName(() => scope.prisma.tagGroup.update({ where: { id }, data }), input.name);
}

export async function deleteTagGroup(scope: ServiceScope, id: string) {
  const { count } = await scope.prisma.tagGroup.deleteMany({ where: inWorkspace(id, scope) });
  if (count === 0) throw new NotFoundError('TagGroup', id);
}

/** Adds (or removes) tags on a workflow; every id must belong to the workspace. */
export async function changeWorkflowTags(
  scope: ServiceScope,
  workflowId: string,
  tagIds: string[],
  mode: 'assign' | 'unassign',
) {
  const workflow = await scope.prisma.workflow.findFirst({ where: inWorkspace(workflowId, scope) });
  if (!workflow) throw new NotFoundError('Workflow', workflowId);
  const tags = await scope.prisma.tag.findMany({
    where: { id: { in: tagIds }, workspaceId: scope.workspaceId },
    select: { id: true },
  });
  const found = new Set(tags.map((t) => t.id));
  const missing = tagIds.filter((id) => !found.has(id));
  if (missing.length) throw new NotFoundError('Tag', missing[0]!);
  if (mode === 'assign') {
    await scope.prisma.workflowTag.createMany({
      data: tagIds.map((tagId) => ({ workflowId, tagId, workspaceId: scope.workspaceId })),
      skipDuplicates: true,
    });
  } else {
    await scope.prisma.workflowTag.deleteMany({ where: { workflowId, tagId: { in: tagIds } } });
  }
  return workflow;
}
