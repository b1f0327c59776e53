// Tags and tag groups through the API.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { graphql } from './generated/gql.ts';
import { ofType } from './helpers/typename.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow } from './helpers/runs.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const definition = { steps: [{ id: 'w', type: 'wait', config: { seconds: 1 } }] };
const q = async <T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables?: V) =>
  (await t.gql(document, variables)).data!;

it('creates groups and tags, assigns them, counts workflows, archives, and deletes', async () => {
  const group = ofType(
    (
      await q(
        graphql(
          `mutation TagsCreateTagGroup { createTagGroup(input: { name: "Team", color: "#112233", emoji: "👥", order: 1 }) { __typename ... on TagGroupPayload { tagGroup { id name color emoji } } } }`,
        ),
      )
    ).createTagGroup,
    'TagGroupPayload',
  ).tagGroup;
  expect(group).toMatchObject({ name: 'Team', color: '#112233', emoji: '👥' });
  const make = async (name: string, order: number) =>
    ofType(
      (
        await q(
          graphql(
            `mutation TagsCreateTag ($input: CreateTagInput!) { createTag(input: $input) { __typename ... on TagPayload { tag { id name order group { name } } } } }`,
          ),
          { input: { name, order, groupId: group.id, description: `${name} team` } },
        )
      ).createTag,
      'TagPayload',
    ).tag;
  const data = await make('data', 2);
  const ops = await make('ops', 1);
  expect(data.group).toEqual({ name: 'Team' });

  const wf = await createWorkflow(t, definition);
  const assigned = await q(
    graphql(
      `mutation TagsAssignTags ($input: WorkflowTagsInput!) { assignTags(input: $input) { __typename ... on WorkflowTagsPayload { workflow { tags { name } } } } }`,
    ),
    { input: { workflowId: wf, tagIds: [data.id, ops.id] } },
  );
  expect(ofType(assigned.assignTags, 'WorkflowTagsPayload').workflow.tags.map((x) => x.name)).toEqual(['ops', 'data']); // by order
  await createWorkflow(t, definition, { tags: ['data'] }); // by name, existing tag reused

  const list = await q(
    graphql(
      `query TagsTags { tags(first: 10) { totalCount edges { node { name workflowCount } } } tagGroups { name tags { name } } }`,
    ),
  );
  expect(list.tags.edges.map((e) => e.node)).toEqual([
    { name: 'ops', workflowCount: 1 },
    { name: 'data', workflowCount: 2 },
  ]);
  expect(list.tagGroups).toEqual([{ name: 'Team', tags: [{ name: 'ops' }, { name: 'data' }] }]);

  await q(
    graphql(
      `mutation TagsUpdateTag ($input: UpdateTagInput!) { updateTag(input: $input) { __typename ... on TagPayload { tag { isArchived } } } }`,
    ),
    { input: { id: ops.id, isArchived: true } },
  );
  expect((await q(graphql(`query TagsTags2 { tags(first: 10) { totalCount } }`))).tags.totalCount).toBe(1);
  expect(
    (await q(graphql(`query TagsTags3 { tags(first: 10, includeArchived: true) { totalCount } }`))).tags.totalCount,
  ).toBe(2);

  const unassigned = await q(
    graphql(
      `mutation TagsUnassignTags ($input: WorkflowTagsInput!) { unassignTags(input: $input) { __typename ... on WorkflowTagsPayload { workflow { tags { name } } } } }`,
    ),
    { input: { workflowId: wf, tagIds: [data.id] } },
  );
  expect(ofType(unassigned.unassignTags, 'WorkflowTagsPayload').workflow.tags).toEqual([{ name: 'ops' }]);

  const deleted = await q(
    graphql(
      `mutation TagsDeleteTagGroup ($input: DeleteInput!) { deleteTagGroup(input: $input) { __typename ... on DeletedPayload { deletedId } } }`,
    ),
    { input: { id: group.id } },
  );
  expect(ofType(deleted.deleteTagGroup, 'DeletedPayload').deletedId).toBe(group.id);
  expect(
    ofType(
      (
        await q(graphql(`query TagsNode ($id: ID!) { node(id: $id) { __typename ... on Tag { group { name } } } }`), {
          id: data.id,
        })
      ).node,
      'Tag',
    ).group,
  ).toBeNull();
});

it('refuses duplicates, bad colors and foreign ids clearly, writing nothing', async () => {
  await q(graphql(`mutation TagsCreateTag2 { createTag(input: { name: "unique" }) { __typename } }`));
  const before = await t.db.prisma.tag.count();
  const dup = await q(
    graphql(
      `mutation TagsCreateTag3 { createTag(input: { name: "unique", color: "red" }) { __typename ... on ValidationError { code problems { path message } } } }`,
    ),
  );
  expect(ofType(dup.createTag, 'ValidationError').problems).toEqual([
    { path: ['input', 'color'], message: 'must be a hex color like #1f6feb' },
  ]);
  const dupName = await q(
    graphql(
      `mutation TagsCreateTag4 { createTag(input: { name: "unique" }) { __typename ... on ValidationError { problems { path message } } } }`,
    ),
  );
  expect(ofType(dupName.createTag, 'ValidationError').problems).toEqual([
    { path: ['input', 'name'], message: "a tag or group named 'unique' already exists in this workspace" },
  ]);
  const wf = await createWorkflow(t, definition);
  const missing = Buffer.from('Tag:00000000-0000-7000-8000-000000000000').toString('base64');
  const assign = await q(
    graphql(
      `mutation TagsAssignTags2 ($input: WorkflowTagsInput!) { assignTags(input: $input) { __typename ... on NotFoundError { code resource } } }`,
    ),
    { input: { workflowId: wf, tagIds: [missing] } },
  );
  expect(assign.assignTags).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND', resource: 'Tag' });
  expect(await t.db.prisma.tag.count()).toBe(before);
});
