// Tag and TagGroup types, their queries and mutations, and Workflow.tags.
import type { Tag, TagGroup, Workflow } from '../generated/prisma/client.ts';
import {
  changeWorkflowTags,
  createTag,
  createTagGroup,
  deleteTag,
  deleteTagGroup,
  updateTag,
  updateTagGroup,
  type TagFields,
} from '../tags/service.ts';
import { builder } from './builder.ts';
import { DeleteInput, DeletedPayload } from './delete.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';
import { inWorkspace, parseGlobalId } from '../ids.ts';
import { checkPageSize, checkSearch } from './pagination.ts';
import { WorkflowRef } from './workflow.ts';

export const TagGroupRef = builder.prismaNode('TagGroup', {
  nullable: true,
  description: 'A group of tags (e.g. "Team", "Environment").',
  id: { field: 'id' },
  findUnique: inWorkspace,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique name in the workspace.' }),
    description: t.exposeString('description', { nullable: true, description: 'What the group is for.' }),
    color: t.exposeString('color', { nullable: true, description: 'Hex color, e.g. #1f6feb.' }),
    emoji: t.exposeString('emoji', { nullable: true, description: 'An emoji shown with the group.' }),
    order: t.exposeInt('order', { description: 'Sort position (ascending).' }),
    tags: t.relation('tags', {
      description: 'Tags in this group.',
      query: { orderBy: [{ order: 'asc' }, { name: 'asc' }] },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

export const TagRef = builder.prismaNode('Tag', {
  nullable: true,
  description: 'A label for organising workflows.',
  id: { field: 'id' },
  findUnique: inWorkspace,
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique name in the workspace (1–100 characters).' }),
    description: t.exposeString('description', { nullable: true, description: 'What the tag means.' }),
    color: t.exposeString('color', { nullable: true, description: 'Hex color, e.g. #1f6feb.' }),
    emoji: t.exposeString('emoji', { nullable: true, description: 'An emoji shown with the tag.' }),
    order: t.exposeInt('order', { description: 'Sort position (ascending).' }),
    isArchived: t.exposeBoolean('isArchived', {
      description: 'Archived tags are hidden from `tags` unless includeArchived.',
    }),
    group: t.relation('group', { nullable: true, description: 'The group the tag belongs to.' }),
    workflowCount: t.loadable({
      type: 'Int',
      description: 'Number of workflows with this tag.',
      load: async (ids: string[], ctx) => {
        const rows = await ctx.prisma.workflowTag.groupBy({
          by: ['tagId'],
          where: { tagId: { in: ids } },
          _count: { _all: true },
        });
        const counts = new Map(rows.map((r) => [r.tagId, r._count._all]));
        return ids.map((id) => counts.get(id) ?? 0);
      },
      resolve: (tag) => tag.id,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.prismaObjectField('Workflow', 'tags', (t) =>
  t.field({
    type: [TagRef],
    description: "The workflow's tags, by order then name.",
    select: (_args, _ctx, nested) => ({ tags: { select: { tag: nested({ select: { order: true, name: true } }) } } }),
    resolve: (workflow) =>
      (workflow.tags.map((wt) => wt.tag) as Tag[]).sort((a, b) => a.order - b.order || a.name.localeCompare(b.name)),
  }),
);

builder.queryFields((t) => ({
  tags: t.prismaConnection({
    type: 'Tag',
    cursor: 'id',
    description: 'Tags of your workspace, by order then name. At most 200 per page.',
    args: {
      groupId: t.arg.id({ description: 'Only tags of this group.' }),
      includeArchived: t.arg.boolean({ description: 'Include archived tags (default false).' }),
      search: t.arg.string({ description: 'Case-insensitive search in the name.' }),
    },
    totalCount: (_p, args, ctx) => (
      checkPageSize(args), ctx.prisma.tag.count({ where: tagWhere(ctx.workspaceId, args) })
    ),
    resolve: (query, _root, args, ctx) => {
      checkPageSize(args);
      return ctx.prisma.tag.findMany({
        ...query,
        where: tagWhere(ctx.workspaceId, args),
        orderBy: [{ order: 'asc' }, { name: 'asc' }, { id: 'asc' }],
      });
    },
  }),
  tagGroups: t.prismaField({
    type: ['TagGroup'],
    description: 'Tag groups of your workspace, by order then name.',
    resolve: (query, _root, _args, ctx) =>
      ctx.prisma.tagGroup.findMany({
        ...query,
        where: { workspaceId: ctx.workspaceId },
        orderBy: [{ order: 'asc' }, { name: 'asc' }],
      }),
  }),
}));

function tagWhere(
  workspaceId: string,
  args: { groupId?: string | number | null; includeArchived?: boolean | null; search?: string | null },
) {
  checkSearch(args.search, ['search']);
  return {
    workspaceId,
    ...(args.includeArchived ? {} : { isArchived: false }),
    ...(args.groupId != null ? { groupId: parseGlobalId(String(args.groupId), 'TagGroup') } : {}),
    ...(args.search?.trim() ? { name: { contains: args.search.trim(), mode: 'insensitive' as const } } : {}),
  };
}

const TagPayload = builder.objectRef<{ tag: Tag }>('TagPayload').implement({
  description: 'The tag after the change.',
  fields: (t) => ({ tag: t.field({ type: TagRef, description: 'The tag.', resolve: (p) => p.tag }) }),
});
const TagGroupPayload = builder.objectRef<{ tagGroup: TagGroup }>('TagGroupPayload').implement({
  description: 'The tag group after the change.',
  fields: (t) => ({
    tagGroup: t.field({ type: TagGroupRef, description: 'The tag group.', resolve: (p) => p.tagGroup }),
  }),
});
const WorkflowTagsPayload = builder.objectRef<{ workflow: Workflow }>('WorkflowTagsPayload').implement({
  description: 'The workflow with its tags after the change.',
  fields: (t) => ({
    workflow: t.field({ type: WorkflowRef, description: 'The workflow.', resolve: (p) => p.workflow }),
  }),
});

type Builder = Parameters<NonNullable<Parameters<typeof builder.inputType>[1]['fields']>>[0];
const tagFields = (t: Builder, requireName: boolean) => ({
  name: t.string({ required: requireName, description: 'Unique name in the workspace (1–100 characters).' }),
  description: t.string({ description: 'What it means (≤ 1000 characters).' }),
  color: t.string({ description: 'Hex color like #1f6feb.' }),
  emoji: t.string({ description: 'A single emoji.' }),
  order: t.int({ description: 'Sort position (ascending).' }),
});

const CreateTagInput = builder.inputType('CreateTagInput', {
  description: 'A new tag.',
  fields: (t) => ({
    ...tagFields(t, true),
    groupId: t.id({ description: 'Global ID of its group.' }),
    isArchived: t.boolean({ description: 'Create it archived.' }),
  }),
});
const UpdateTagInput = builder.inputType('UpdateTagInput', {
  description: 'Changes to a tag; only the fields present are applied (groupId: null removes it from its group).',
  fields: (t) => ({
    id: t.id({ required: true, description: 'Global ID of the tag.' }),
    ...tagFields(t, false),
    groupId: t.id({ description: 'Global ID of its new group.' }),
    isArchived: t.boolean({ description: 'Archive or restore.' }),
  }),
});
const CreateTagGroupInput = builder.inputType('CreateTagGroupInput', {
  description: 'A new tag group.',
  fields: (t) => tagFields(t, true),
});
const UpdateTagGroupInput = builder.inputType('UpdateTagGroupInput', {
  description: 'Changes to a tag group; only the fields present are applied.',
  fields: (t) => ({ id: t.id({ required: true, description: 'Global ID of the group.' }), ...tagFields(t, false) }),
});
const WorkflowTagsInput = builder.inputType('WorkflowTagsInput', {
  description: 'A workflow and tags to add or remove.',
  fields: (t) => ({
    workflowId: t.id({ required: true, description: 'Global ID of the workflow.' }),
    tagIds: t.idList({ required: true, description: 'Global IDs of the tags.' }),
  }),
});

function tagInput<T extends { groupId?: string | number | null }>(input: T): TagFields {
  const { groupId, ...rest } = input as T & TagFields;
  const result: TagFields = { ...rest };
  if (groupId !== undefined) result.groupId = groupId === null ? null : parseGlobalId(String(groupId), 'TagGroup');
  return result;
}

builder.mutationFields((t) => ({
  createTag: t.field({
    type: TagPayload,
    description: 'Creates a tag.',
    args: { input: t.arg({ type: CreateTagInput, required: true }) },
    errors: mutationErrors('CreateTagResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        tag: await createTag(ctx, tagInput(input) as TagFields & { name: string }),
      })),
  }),
  updateTag: t.field({
    type: TagPayload,
    description: 'Changes a tag (only the fields present).',
    args: { input: t.arg({ type: UpdateTagInput, required: true }) },
    errors: mutationErrors('UpdateTagResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        tag: await updateTag(ctx, parseGlobalId(String(input.id), 'Tag'), tagInput({ ...input, id: undefined })),
      })),
  }),
  deleteTag: t.field({
    type: DeletedPayload,
    description: 'Deletes a tag (its workflows lose it).',
    args: { input: t.arg({ type: DeleteInput, required: true }) },
    errors: mutationErrors('DeleteTagResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(
        info,
        async () => (await deleteTag(ctx, parseGlobalId(String(input.id), 'Tag')), { deletedId: String(input.id) }),
      ),
  }),
  createTagGroup: t.field({
    type: TagGroupPayload,
    description: 'Creates a tag group.',
    args: { input: t.arg({ type: CreateTagGroupInput, required: true }) },
    errors: mutationErrors('CreateTagGroupResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        tagGroup: await createTagGroup(ctx, input as TagFields & { name: string }),
      })),
  }),
  updateTagGroup: t.field({
    type: TagGroupPayload,
    description: 'Changes a tag group (only the fields present).',
    args: { input: t.arg({ type: UpdateTagGroupInput, required: true }) },
    errors: mutationErrors('UpdateTagGroupResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        tagGroup: await updateTagGroup(ctx, parseGlobalId(String(input.id), 'TagGroup'), {
          ...input,
          id: undefined,
        } as TagFields),
      })),
  }),
  deleteTagGroup: t.field({
    type: DeletedPayload,
    description: 'Deletes a tag group; its tags stay, without a group.',
    args: { input: t.arg({ type: DeleteInput, required: true }) },
    errors: mutationErrors('DeleteTagGroupResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(
        info,
        async () => (
          await deleteTagGroup(ctx, parseGlobalId(String(input.id), 'TagGroup')), { deletedId: String(input.id) }
        ),
      ),
  }),
  assignTags: t.field({
    type: WorkflowTagsPayload,
    description: 'Adds tags to a workflow (already assigned ones are ignored).',
    args: { input: t.arg({ type: WorkflowTagsInput, required: true }) },
    errors: mutationErrors('AssignTagsResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        workflow: await changeWorkflowTags(
          ctx,
          parseGlobalId(String(input.workflowId), 'Workflow'),
          input.tagIds.map((id) => parseGlobalId(String(id), 'Tag')),
          'assign',
        ),
      })),
  }),
  unassignTags: t.field({
    type: WorkflowTagsPayload,
    description: 'Removes tags from a workflow.',
    args: { input: t.arg({ type: WorkflowTagsInput, required: true }) },
    errors: mutationErrors('UnassignTagsResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        workflow: await changeWorkflowTags(
          ctx,
          parseGlobalId(String(input.workflowId), 'Workflow'),
          input.tagIds.map((id) => parseGlobalId(String(id), 'Tag')),
          'unassign',
        ),
      })),
  }),
}));
