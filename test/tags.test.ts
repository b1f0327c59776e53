// Tags and tag groups through the API.
import { afterAll, beforeAll, expect, it } from 'vitest';
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
const q = async (query: string, variables?: Record<string, unknown>) => (await t.gql(query, variables)).data as any;

it('creates groups and tags, assigns them, counts workflows, archives, and deletes', async () => {
  const group = (
    await q(
      `mutation { createTagGroup(input: { name: "Team", color: "#112233", emoji: "👥", order: 1 }) { ... on TagGroupPayload { tagGroup { id name color emoji } } } }`,
    )
  ).createTagGroup.tagGroup;
  expect(group).toMatchObject({ name: 'Team', color: '#112233', emoji: '👥' });
  const make = async (name: string, order: number) =>
    (
      await q(
        `mutation($input: CreateTagInput!) { createTag(input: $input) { ... on TagPayload { tag { id name order group { name } } } } }`,
        { input: { name, order, groupId: group.id, description: `${name} team` } },
      )
    ).createTag.tag;
  const data = await make('data', 2);
  const ops = await make('ops', 1);
  expect(data.group).toEqual({ name: 'Team' });

  const wf = await createWorkflow(t, definition);
  const assigned = await q(
    `mutation($input: WorkflowTagsInput!) { assignTags(input: $input) { ... on WorkflowTagsPayload { workflow { tags { name } } } } }`,
    { input: { workflowId: wf, tagIds: [data.id, ops.id] } },
  );
  expect(assigned.assignTags.workflow.tags.map((x: any) => x.name)).toEqual(['ops', 'data']); // by order
  await createWorkflow(t, definition, { tags: ['data'] }); // by name, existing tag reused

  const list = await q(
    `{ tags(first: 10) { totalCount edges { node { name workflowCount } } } tagGroups { name tags { name } } }`,
  );
  expect(list.tags.edges.map((e: any) => e.node)).toEqual([
    { name: 'ops', workflowCount: 1 },
    { name: 'data', workflowCount: 2 },
  ]);
  expect(list.tagGroups).toEqual([{ name: 'Team', tags: [{ name: 'ops' }, { name: 'data' }] }]);

  await q(
    `mutation($input: UpdateTagInput!) { updateTag(input: $input) { ... on TagPayload { tag { isArchived } } } }`,
    { input: { id: ops.id, isArchived: true } },
  );
  expect((await q(`{ tags(first: 10) { totalCount } }`)).tags.totalCount).toBe(1);
  expect((await q(`{ tags(first: 10, includeArchived: true) { totalCount } }`)).tags.totalCount).toBe(2);

  const unassigned = await q(
    `mutation($input: WorkflowTagsInput!) { unassignTags(input: $input) { ... on WorkflowTagsPayload { workflow { tags { name } } } } }`,
    { input: { workflowId: wf, tagIds: [data.id] } },
  );
  expect(unassigned.unassignTags.workflow.tags).toEqual([{ name: 'ops' }]);

  const deleted = await q(
    `mutation($input: DeleteInput!) { deleteTagGroup(input: $input) { ... on DeletedPayload { deletedId } } }`,
    { input: { id: group.id } },
  );
  expect(deleted.deleteTagGroup.deletedId).toBe(group.id);
  expect(
    (await q(`query($id: ID!) { node(id: $id) { ... on Tag { group { name } } } }`, { id: data.id })).node.group,
  ).toBeNull();
});

it('refuses duplicates, bad colors and foreign ids clearly, writing nothing', async () => {
  await q(`mutation { createTag(input: { name: "unique" }) { __typename } }`);
  const before = await t.db.prisma.tag.count();
  const dup = await q(
    `mutation { createTag(input: { name: "unique", color: "red" }) { ... on ValidationError { code problems { path message } } } }`,
  );
  expect(dup.createTag.problems).toEqual([{ path: ['input', 'color'], message: 'must be a hex color like #1f6feb' }]);
  const dupName = await q(
    `mutation { createTag(input: { name: "unique" }) { ... on ValidationError { problems { path message } } } }`,
  );
  expect(dupName.createTag.problems).toEqual([
    { path: ['input', 'name'], message: "a tag or group named 'unique' already exists in this workspace" },
  ]);
  const wf = await createWorkflow(t, definition);
  const missing = Buffer.from('Tag:00000000-0000-7000-8000-000000000000').toString('base64');
  const assign = await q(
    `mutation($input: WorkflowTagsInput!) { assignTags(input: $input) { ... on NotFoundError { code resource } } }`,
    { input: { workflowId: wf, tagIds: [missing] } },
  );
  expect(assign.assignTags).toEqual({ code: 'NOT_FOUND', resource: 'Tag' });
  expect(await t.db.prisma.tag.count()).toBe(before);
});
