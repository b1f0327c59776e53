// Templates: built-ins are valid and installable; workspaces save and delete their own.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { graphql } from './generated/gql.ts';
import { ofType } from './helpers/typename.ts';
import { BUILTIN_TEMPLATES } from '../src/templates/builtin.ts';
import { validateDefinition } from '../src/workflows/definition.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow } from './helpers/runs.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const q = async <T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables?: V) =>
  (await t.gql(document, variables)).data!;

it('ships at least five built-in templates, each a valid definition', () => {
  expect(BUILTIN_TEMPLATES.length).toBeGreaterThanOrEqual(5);
  expect(new Set(BUILTIN_TEMPLATES.map((x) => x.category)).size).toBeGreaterThanOrEqual(5);
  for (const template of BUILTIN_TEMPLATES)
    expect({ name: template.name, problems: validateDefinition(template.definition) }).toEqual({
      name: template.name,
      problems: [],
    });
});

it('lists templates with filters and installs one as a workflow', async () => {
  const all = await q(
    graphql(
      `query TemplatesTemplates { templates(first: 50) { edges { node { id name category isBuiltin inputSchema } } } }`,
    ),
  );
  expect(all.templates.edges.length).toBe(BUILTIN_TEMPLATES.length);
  const monitoring = await q(
    graphql(`query TemplatesTemplates2 { templates(first: 50, category: "monitoring") { edges { node { name } } } }`),
  );
  expect(monitoring.templates.edges.map((e) => e.node.name)).toEqual(['Scheduled health check']);
  const etl = all.templates.edges.find((e) => e.node.name === 'Paginated ETL')!.node;
  const installed = await q(
    graphql(
      `mutation TemplatesInstallTemplate ($input: InstallTemplateInput!) { installTemplate(input: $input) { __typename ... on InstallTemplatePayload { workflow { name latestVersion definition } } } }`,
    ),
    { input: { templateId: etl.id, name: 'My ETL' } },
  );
  expect(ofType(installed.installTemplate, 'InstallTemplatePayload').workflow).toMatchObject({
    name: 'My ETL',
    latestVersion: 1,
    definition: BUILTIN_TEMPLATES.find((x) => x.name === 'Paginated ETL')!.definition,
  });
  const viaNode = await q(
    graphql(`query TemplatesNode ($id: ID!) { node(id: $id) { __typename ... on Template { name isBuiltin } } }`),
    { id: etl.id },
  );
  expect(viaNode.node).toEqual({ __typename: 'Template', name: 'Paginated ETL', isBuiltin: true });
});

it('saves a workflow as a workspace template, lists it, and deletes it; built-ins cannot be deleted', async () => {
  const wf = await createWorkflow(
    t,
    { steps: [{ id: 'w', type: 'wait', config: { seconds: 1 } }] },
    { description: 'mine' },
  );
  const saved = await q(
    graphql(
      `mutation TemplatesCreateTemplateFromWorkflow ($input: CreateTemplateFromWorkflowInput!) { createTemplateFromWorkflow(input: $input) { __typename ... on TemplatePayload { template { id name category description isBuiltin } } ... on ValidationError { problems { path } } } }`,
    ),
    { input: { workflowId: wf, name: 'Nap', category: 'utility' } },
  );
  const template = ofType(saved.createTemplateFromWorkflow, 'TemplatePayload').template;
  expect(template).toMatchObject({ name: 'Nap', category: 'utility', description: 'mine', isBuiltin: false });
  const own = await q(
    graphql(`query TemplatesTemplates3 { templates(first: 50, isBuiltin: false) { edges { node { name } } } }`),
  );
  expect(own.templates.edges.map((e) => e.node.name)).toEqual(['Nap']);
  const bad = await q(
    graphql(
      `mutation TemplatesCreateTemplateFromWorkflow2 ($input: CreateTemplateFromWorkflowInput!) { createTemplateFromWorkflow(input: $input) { __typename ... on ValidationError { problems { path } } } }`,
    ),
    { input: { workflowId: wf, category: 'Not Valid' } },
  );
  expect(ofType(bad.createTemplateFromWorkflow, 'ValidationError').problems).toEqual([{ path: ['input', 'category'] }]);
  const builtinId = (await q(graphql(`query TemplatesTemplates4 { templates(first: 1) { edges { node { id } } } }`)))
    .templates.edges[0]!.node.id;
  const refused = await q(
    graphql(
      `mutation TemplatesDeleteTemplate ($input: DeleteInput!) { deleteTemplate(input: $input) { __typename ... on ValidationError { code message } } }`,
    ),
    { input: { id: builtinId } },
  );
  expect(ofType(refused.deleteTemplate, 'ValidationError').message).toMatch(/built-in templates cannot be deleted/);
  const deleted = await q(
    graphql(
      `mutation TemplatesDeleteTemplate2 ($input: DeleteInput!) { deleteTemplate(input: $input) { __typename ... on DeleteTemplatePayload { deletedId deletedTemplateId } } }`,
    ),
    { input: { id: template.id } },
  );
  // deletedId is every delete payload's field; the entity-named one stays, deprecated.
  expect(deleted.deleteTemplate).toEqual({
    __typename: 'DeleteTemplatePayload',
    deletedId: template.id,
    deletedTemplateId: template.id,
  });
});
