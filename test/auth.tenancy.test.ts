// Tenant isolation, proven field by field: every query, mutation and subscription root field
// of the schema has a case here (the test fails when a new field has none). Workspace B gets
// A's ids and names everywhere an argument takes one, and must see nothing of A (NOT_FOUND,
// null or nothing listed) and change nothing of A (a fingerprint of A's rows stays the same).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { GraphQLFormattedError } from 'graphql';
import { schema } from '../src/schema/index.ts';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createTenant } from './helpers/auth.ts';
import { databaseFingerprint } from './helpers/fingerprint.ts';
import { watchBusListeners, type BusListeners } from './helpers/bus.ts';
import { filesEnv, gqlUpload } from './helpers/files.ts';
import { createWorkflow, gid, startRun, waitForRun } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';
import { until } from './helpers/wait.ts';

let t: TestApp;
let url: string;
let listeners: BusListeners;
let b: Awaited<ReturnType<typeof createTenant>>;
/** A's objects (global ids) and the strings that would betray a leak of A's data. */
const a: Record<string, string> = {};
const MARKERS = [
  'ALPHA-workflow',
  'ALPHA-tag',
  'ALPHA-group',
  'ALPHA-schedule',
  'ALPHA-template',
  'ALPHA_SECRET',
  'ALPHA-key',
  'alpha-member',
  'alpha-input-value',
  'ALPHA-agent',
  'ALPHA-file',
];

async function ok<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables?: V): Promise<T> {
  const res = await t.gql(document, variables);
  if (res.errors || !res.data) throw new Error(JSON.stringify(res.errors));
  return res.data;
}

beforeAll(async () => {
  t = await startTestApp(filesEnv());
  url = (await t.app.start(0, '127.0.0.1')).url;
  listeners = watchBusListeners(t.app.bus);
  b = await createTenant(t, 'tenant-b');
  const definition = { steps: [{ id: 'check', type: 'condition', config: { expression: 'true' } }] };
  a.workflow = await createWorkflow(t, definition, { name: 'ALPHA-workflow' });
  await ok(
    graphql(
      `mutation TenancySetupSetReleaseLabel ($id: ID!) { setReleaseLabel(input: { workflowId: $id, label: "production", version: 1 }) { __typename } }`,
    ),
    { id: a.workflow },
  );
  a.group = ofType(
    (
      await ok(
        graphql(
          `mutation TenancySetupCreateTagGroup { createTagGroup(input: { name: "ALPHA-group" }) { __typename ... on TagGroupPayload { tagGroup { id } } } }`,
        ),
      )
    ).createTagGroup,
    'TagGroupPayload',
  ).tagGroup.id;
  a.tag = ofType(
    (
      await ok(
        graphql(
          `mutation TenancySetupCreateTag ($g: ID!) { createTag(input: { name: "ALPHA-tag", groupId: $g }) { __typename ... on TagPayload { tag { id } } } }`,
        ),
        { g: a.group },
      )
    ).createTag,
    'TagPayload',
  ).tag.id;
  await ok(
    graphql(
      `mutation TenancySetupAssignTags ($w: ID!, $t: ID!) { assignTags(input: { workflowId: $w, tagIds: [$t] }) { __typename } }`,
    ),
    {
      w: a.workflow,
      t: a.tag,
    },
  );
  a.schedule = ofType(
    (
      await ok(
        graphql(
          `mutation TenancySetupCreateSchedule ($w: ID!) { createSchedule(input: { workflowId: $w, name: "ALPHA-schedule", cronExpression: "0 3 * * *", enabled: false }) { __typename ... on SchedulePayload { schedule { id } } } }`,
        ),
        { w: a.workflow },
      )
    ).createSchedule,
    'SchedulePayload',
  ).schedule.id;
  a.template = ofType(
    (
      await ok(
        graphql(
          `mutation TenancySetupCreateTemplateFromWorkflow ($w: ID!) { createTemplateFromWorkflow(input: { workflowId: $w, name: "ALPHA-template", category: "alpha" }) { __typename ... on TemplatePayload { template { id } } } }`,
        ),
        { w: a.workflow },
      )
    ).createTemplateFromWorkflow,
    'TemplatePayload',
  ).template.id;
  await ok(
    graphql(
      `mutation TenancySetupSetSecret { setSecret(input: { name: "ALPHA_SECRET", value: "alpha-secret-value" }) { __typename } }`,
    ),
  );
  a.agent = ofType(
    (
      await ok(
        graphql(
          `mutation TenancySetupCreateAgent { createAgent(input: { name: "ALPHA-agent", model: "alpha-model" }) { __typename ... on AgentPayload { agent { id } } } }`,
        ),
      )
    ).createAgent,
    'AgentPayload',
  ).agent.id;
  a.apiKey = ofType(
    (
      await ok(
        graphql(
          `mutation TenancySetupCreateApiKey { createApiKey(input: { name: "ALPHA-key", scopes: [READ] }) { __typename ... on CreateApiKeyPayload { apiKey { id } } } }`,
        ),
      )
    ).createApiKey,
    'CreateApiKeyPayload',
  ).apiKey.id;
  a.user = ofType(
    (
      await ok(
        graphql(
          `mutation TenancySetupAddWorkspaceMember { addWorkspaceMember(input: { subject: "alpha-member", role: VIEWER }) { __typename ... on WorkspaceMemberPayload { userId } } }`,
        ),
      )
    ).addWorkspaceMember,
    'WorkspaceMemberPayload',
  ).userId;
  a.run = await startRun(t, a.workflow, { note: 'alpha-input-value' });
  await waitForRun(t, a.run);
  a.version = (
    await ok(graphql(`query TenancySetupWorkflow ($id: ID!) { workflow(id: $id) { currentVersion { id } } }`), {
      id: a.workflow,
    })
  ).workflow!.currentVersion!.id;
  a.stepRun = (
    await ok(graphql(`query TenancySetupRun ($id: ID!) { run(id: $id) { stepRuns { id } } }`), { id: a.run })
  ).run!.stepRuns[0]!.id;
  a.event = (
    await ok(
      graphql(`query TenancySetupRun2 ($id: ID!) { run(id: $id) { events(first: 1) { edges { node { id } } } } }`),
      { id: a.run },
    )
  ).run!.events.edges[0]!.node.id;
  a.workspace = gid('Workspace', t.workspaceId);
  a.upload = ofType(
    (await gqlUpload(t, new File(['alpha bytes'], 'ALPHA-file.txt'), { workflowId: a.workflow })).data?.uploadFile,
    'UploadPayload',
  ).upload.id;
}, 60_000);
afterAll(async () => {
  await t?.close();
});

type Check = 'notFound' | 'nothing';
interface Case {
  query: string;
  variables?: () => Record<string, unknown>;
  /** notFound: a NOT_FOUND error or NotFoundError result; nothing: any answer, as long as no marker of A appears. */
  expect: Check;
}

const NF = '__typename ... on NotFoundError { code } ... on Error { code }';
const QUERIES: Record<string, Case> = {
  agents: { query: '{ agents(first: 200) { totalCount edges { node { id name model } } } }', expect: 'nothing' },
  apiKeys: { query: '{ apiKeys(includeRevoked: true) { id name } }', expect: 'nothing' },
  node: { query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: () => ({ ids: [] }), expect: 'nothing' }, // every id below, one by one (see the test)
  nodes: {
    query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }',
    variables: () => ({ ids: Object.values(a) }),
    expect: 'nothing',
  },
  run: { query: 'query($id: ID!) { run(id: $id) { id input } }', variables: () => ({ id: a.run }), expect: 'nothing' },
  runs: {
    query:
      'query($w: ID!) { all: runs(first: 200) { totalCount edges { node { id input } } } filtered: runs(filter: { workflowId: $w }) { totalCount } }',
    variables: () => ({ w: a.workflow }),
    expect: 'nothing',
  },
  runsSummary: {
    query: 'query($w: ID!) { runsSummary(workflowId: $w) { total } }',
    variables: () => ({ w: a.workflow }),
    expect: 'nothing',
  },
  secrets: { query: '{ secrets { name } }', expect: 'nothing' },
  tagGroups: { query: '{ tagGroups { id name } }', expect: 'nothing' },
  tags: {
    query:
      'query($g: ID!) { all: tags(first: 200, includeArchived: true) { edges { node { name } } } inGroup: tags(groupId: $g) { totalCount } }',
    variables: () => ({ g: a.group }),
    expect: 'nothing',
  },
  templates: { query: '{ templates(first: 200) { edges { node { id name } } } }', expect: 'nothing' },
  uploads: {
    query:
      'query($w: ID!) { all: uploads(first: 200) { totalCount edges { node { id filename } } } attachments: uploads(kind: ATTACHMENT) { totalCount } ofWorkflow: uploads(workflowId: $w) { totalCount } }',
    variables: () => ({ w: a.workflow }),
    expect: 'nothing',
  },
  validateWorkflowDefinition: {
    query: '{ validateWorkflowDefinition(definition: { steps: [] }) { valid } }',
    expect: 'nothing',
  },
  viewer: { query: '{ viewer { workspace { slug } memberships { role } } }', expect: 'nothing' },
  workflow: {
    query:
      'query($id: ID!, $name: ID!) { byId: workflow(id: $id) { id name } byName: workflow(id: $name) { id name } }',
    variables: () => ({ id: a.workflow, name: 'alpha-WORKFLOW' }),
    expect: 'nothing',
  },
  workflows: { query: '{ workflows(first: 200) { totalCount edges { node { name } } } }', expect: 'nothing' },
  workspace: { query: '{ workspace { id name slug members { user { subject } } } }', expect: 'nothing' },
};

const MUTATIONS: Record<string, Case> = {
  addWorkspaceMember: {
    query: `mutation { addWorkspaceMember(input: { subject: "b-member", role: VIEWER }) { ${NF} } }`,
    expect: 'nothing',
  },
  assignTags: {
    query: `mutation($w: ID!, $t: ID!) { assignTags(input: { workflowId: $w, tagIds: [$t] }) { ${NF} } }`,
    variables: () => ({ w: a.workflow, t: a.tag }),
    expect: 'notFound',
  },
  cancelRun: {
    query: `mutation($id: ID!) { cancelRun(input: { runId: $id }) { ${NF} } }`,
    variables: () => ({ id: a.run }),
    expect: 'notFound',
  },
  createAgent: {
    query: `mutation { createAgent(input: { name: "ALPHA-agent", model: "b-model" }) { __typename } }`,
    expect: 'nothing',
  },
  createApiKey: {
    query: `mutation { createApiKey(input: { name: "b-key", scopes: [READ] }) { __typename } }`,
    expect: 'nothing',
  },
  createSchedule: {
    query: `mutation($w: ID!) { createSchedule(input: { workflowId: $w, cronExpression: "* * * * *" }) { ${NF} } }`,
    variables: () => ({ w: a.workflow }),
    expect: 'notFound',
  },
  createTag: {
    query: `mutation($g: ID!) { createTag(input: { name: "b-tag", groupId: $g }) { ${NF} } }`,
    variables: () => ({ g: a.group }),
    expect: 'notFound',
  },
  createTagGroup: {
    query: `mutation { createTagGroup(input: { name: "ALPHA-group" }) { __typename } }`,
    expect: 'nothing',
  },
  createTemplateFromWorkflow: {
    query: `mutation($w: ID!) { createTemplateFromWorkflow(input: { workflowId: $w, category: "x" }) { ${NF} } }`,
    variables: () => ({ w: a.workflow }),
    expect: 'notFound',
  },
  createWorkflow: {
    query: `mutation { createWorkflow(input: { name: "ALPHA-workflow", definition: { steps: [{ id: "s", type: "condition", config: { expression: "true" } }] } }) { __typename } }`,
    expect: 'nothing',
  },
  createWorkspace: {
    query: `mutation { createWorkspace(input: { name: "x", slug: "default" }) { __typename } }`,
    expect: 'nothing',
  },
  deleteAgent: {
    query: `mutation($id: ID!) { deleteAgent(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.agent }),
    expect: 'notFound',
  },
  deleteRun: {
    query: `mutation($id: ID!) { deleteRun(input: { runId: $id }) { ${NF} } }`,
    variables: () => ({ id: a.run }),
    expect: 'notFound',
  },
  deleteSchedule: {
    query: `mutation($id: ID!) { deleteSchedule(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.schedule }),
    expect: 'notFound',
  },
  deleteSecret: { query: `mutation { deleteSecret(input: { name: "ALPHA_SECRET" }) { ${NF} } }`, expect: 'notFound' },
  deleteUpload: {
    query: `mutation($id: ID!) { deleteUpload(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.upload }),
    expect: 'notFound',
  },
  // A file for A's workflow: JSON cannot carry the file part, and the REST route is proven in files.uploads.test.ts.
  uploadFile: {
    query: `mutation($w: ID!, $f: File!) { uploadFile(input: { file: $f, workflowId: $w }) { ${NF} } }`,
    variables: () => ({ w: a.workflow }),
    expect: 'nothing',
  },
  deleteTag: {
    query: `mutation($id: ID!) { deleteTag(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.tag }),
    expect: 'notFound',
  },
  deleteTagGroup: {
    query: `mutation($id: ID!) { deleteTagGroup(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.group }),
    expect: 'notFound',
  },
  deleteTemplate: {
    query: `mutation($id: ID!) { deleteTemplate(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.template }),
    expect: 'notFound',
  },
  deleteWorkflow: {
    query: `mutation($id: ID!) { deleteWorkflow(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.workflow }),
    expect: 'notFound',
  },
  duplicateWorkflow: {
    query: `mutation($id: ID!) { duplicateWorkflow(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.workflow }),
    expect: 'notFound',
  },
  installTemplate: {
    query: `mutation($id: ID!) { installTemplate(input: { templateId: $id }) { ${NF} } }`,
    variables: () => ({ id: a.template }),
    expect: 'notFound',
  },
  patchWorkflow: {
    query: `mutation($id: ID!) { patchWorkflow(input: { id: $id, name: "hijacked" }) { ${NF} } }`,
    variables: () => ({ id: a.workflow }),
    expect: 'notFound',
  },
  pauseSchedule: {
    query: `mutation($id: ID!) { pauseSchedule(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.schedule }),
    expect: 'notFound',
  },
  previewRun: {
    query: `mutation { previewRun(input: { definition: { steps: [{ id: "s", type: "condition", config: { expression: "true" } }] } }) { __typename } }`,
    expect: 'nothing',
  },
  removeReleaseLabel: {
    query: `mutation($w: ID!) { removeReleaseLabel(input: { workflowId: $w, label: "production" }) { ${NF} } }`,
    variables: () => ({ w: a.workflow }),
    expect: 'notFound',
  },
  removeWorkspaceMember: {
    query: `mutation($id: ID!) { removeWorkspaceMember(input: { userId: $id }) { ${NF} } }`,
    variables: () => ({ id: a.user }),
    expect: 'notFound',
  },
  resumeRun: {
    query: `mutation($id: ID!) { resumeRun(input: { runId: $id }) { ${NF} } }`,
    variables: () => ({ id: a.run }),
    expect: 'notFound',
  },
  resumeSchedule: {
    query: `mutation($id: ID!) { resumeSchedule(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.schedule }),
    expect: 'notFound',
  },
  retryRun: {
    query: `mutation($id: ID!) { retryRun(input: { runId: $id, strategy: ALL_STEPS }) { ${NF} } }`,
    variables: () => ({ id: a.run }),
    expect: 'notFound',
  },
  revokeApiKey: {
    query: `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { ${NF} } }`,
    variables: () => ({ id: a.apiKey }),
    expect: 'notFound',
  },
  rollbackWorkflow: {
    query: `mutation($id: ID!) { rollbackWorkflow(input: { id: $id, version: 1 }) { ${NF} } }`,
    variables: () => ({ id: a.workflow }),
    expect: 'notFound',
  },
  rotateWebhookSecret: {
    query: `mutation($w: ID!) { rotateWebhookSecret(input: { workflowId: $w }) { ${NF} } }`,
    variables: () => ({ w: a.workflow }),
    expect: 'notFound',
  },
  runWorkflow: {
    query: `mutation($w: ID!) { runWorkflow(input: { workflowId: $w }) { ${NF} } }`,
    variables: () => ({ w: a.workflow }),
    expect: 'notFound',
  },
  setReleaseLabel: {
    query: `mutation($w: ID!) { setReleaseLabel(input: { workflowId: $w, label: "staging", version: 1 }) { ${NF} } }`,
    variables: () => ({ w: a.workflow }),
    expect: 'notFound',
  },
  sendEvent: {
    query: `mutation { sendEvent(input: { name: "alpha.event", payload: { x: 1 } }) { __typename ... on SendEventPayload { deliveries { runId } } } }`,
    expect: 'nothing',
  },
  setSecret: {
    query: `mutation { setSecret(input: { name: "ALPHA_SECRET", value: "b-value-long-enough" }) { __typename } }`,
    expect: 'nothing',
  },
  setWorkflowStatus: {
    query: `mutation($id: ID!) { setWorkflowStatus(input: { id: $id, status: ARCHIVED }) { ${NF} } }`,
    variables: () => ({ id: a.workflow }),
    expect: 'notFound',
  },
  signalRun: {
    query: `mutation($id: ID!) { signalRun(input: { runId: $id, name: "alpha.event" }) { ${NF} } }`,
    variables: () => ({ id: a.run }),
    expect: 'notFound',
  },
  unassignTags: {
    query: `mutation($w: ID!, $t: ID!) { unassignTags(input: { workflowId: $w, tagIds: [$t] }) { ${NF} } }`,
    variables: () => ({ w: a.workflow, t: a.tag }),
    expect: 'notFound',
  },
  updateAgent: {
    query: `mutation($id: ID!) { updateAgent(input: { id: $id, model: "hijacked" }) { ${NF} } }`,
    variables: () => ({ id: a.agent }),
    expect: 'notFound',
  },
  updateSchedule: {
    query: `mutation($id: ID!) { updateSchedule(input: { id: $id, name: "hijacked" }) { ${NF} } }`,
    variables: () => ({ id: a.schedule }),
    expect: 'notFound',
  },
  updateTag: {
    query: `mutation($id: ID!) { updateTag(input: { id: $id, name: "hijacked" }) { ${NF} } }`,
    variables: () => ({ id: a.tag }),
    expect: 'notFound',
  },
  updateTagGroup: {
    query: `mutation($id: ID!) { updateTagGroup(input: { id: $id, name: "hijacked" }) { ${NF} } }`,
    variables: () => ({ id: a.group }),
    expect: 'notFound',
  },
  updateWorkflow: {
    query: `mutation($id: ID!) { updateWorkflow(input: { id: $id, name: "hijacked", definition: { steps: [{ id: "s", type: "condition", config: { expression: "true" } }] } }) { ${NF} } }`,
    variables: () => ({ id: a.workflow }),
    expect: 'notFound',
  },
  updateWorkspaceMemberRole: {
    query: `mutation($id: ID!) { updateWorkspaceMemberRole(input: { userId: $id, role: ADMIN }) { ${NF} } }`,
    variables: () => ({ id: a.user }),
    expect: 'notFound',
  },
};

const SUBSCRIPTIONS: Record<string, { query: string; variables: () => Record<string, unknown> }> = {
  runEvents: {
    query: 'subscription($id: ID!) { runEvents(runId: $id) { seq data } }',
    variables: () => ({ id: a.run }),
  },
  runUpdated: {
    query: 'subscription($id: ID!) { runUpdated(runId: $id) { id status } }',
    variables: () => ({ id: a.run }),
  },
  workflowRunsUpdated: {
    query: 'subscription($id: ID!) { workflowRunsUpdated(workflowId: $id) { id status } }',
    variables: () => ({ id: a.workflow }),
  },
  runsFeed: { query: 'subscription { runsFeed { id status input } }', variables: () => ({}) },
  runEventStream: {
    query: 'subscription($id: ID!) { runEventStream(runId: $id) { __typename ... on RunEvent { seq data } } }',
    variables: () => ({ id: a.run }),
  },
  runFeed: {
    query: 'subscription { runFeed(snapshot: 200) { kind runId run { id status input } } }',
    variables: () => ({}),
  },
};

function fieldNames(type: 'query' | 'mutation' | 'subscription'): string[] {
  const root =
    type === 'query'
      ? schema.getQueryType()
      : type === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  return Object.keys(root!.getFields()).sort();
}

function assertNoLeak(label: string, response: unknown) {
  const text = JSON.stringify(response);
  for (const marker of MARKERS)
    expect(text.includes(marker) && !label.startsWith('mutation:'), `${label} leaked ${marker}: ${text}`).toBe(false);
}

function isNotFound(field: string, res: { data?: unknown; errors?: readonly GraphQLFormattedError[] }): boolean {
  if (res.errors?.some((e) => e.extensions?.code === 'NOT_FOUND')) return true;
  const data = res.data as Record<string, { __typename?: string } | null> | null | undefined;
  return data?.[field]?.__typename === 'NotFoundError';
}

it('has a case for every root field of the schema', () => {
  expect(Object.keys(QUERIES).sort()).toEqual(fieldNames('query'));
  expect(Object.keys(MUTATIONS).sort()).toEqual(fieldNames('mutation'));
  expect(Object.keys(SUBSCRIPTIONS).sort()).toEqual(fieldNames('subscription'));
});

it('workspace B reads nothing of A through any query field, node(id) or nested field', async () => {
  for (const [field, c] of Object.entries(QUERIES)) {
    const res = await t.gql(c.query, c.variables?.() ?? {}, b.headers);
    expect(res.status, field).toBeLessThan(500);
    assertNoLeak(`query:${field}`, res);
  }
  // node(id) with each of A's objects: null, as if it did not exist.
  for (const [kind, id] of Object.entries(a)) {
    const res = await t.gql('query($id: ID!) { node(id: $id) { id __typename } }', { id }, b.headers);
    expect(res.data, kind).toEqual({ node: null });
  }
  // The same ids as A are found (positive control: the cases do address real objects).
  const own = await t.gql(graphql(`query TenancyOwnNodes($ids: [ID!]!) { nodes(ids: $ids) { id } }`), {
    ids: Object.values(a),
  });
  expect(own.data?.nodes.filter(Boolean).length).toBe(Object.values(a).length);
});

it('workspace B changes nothing of A through any mutation', async () => {
  const before = await databaseFingerprint(t.db.prisma, t.workspaceId);
  for (const [field, c] of Object.entries(MUTATIONS)) {
    const res = await t.gql(c.query, c.variables?.() ?? {}, b.headers);
    expect(res.status, field).toBeLessThan(500);
    if (c.expect === 'notFound') expect(isNotFound(field, res), `${field}: ${JSON.stringify(res)}`).toBe(true);
    expect(await databaseFingerprint(t.db.prisma, t.workspaceId), field).toEqual(before);
  }
  // A's key still works: revokeApiKey by B did not revoke it.
  const keys = await t.gql(graphql(`query TenancyApiKeys { apiKeys { id active } }`));
  expect(keys.data?.apiKeys).toContainEqual({ id: a.apiKey, active: true });
});

it('workspace B receives nothing of A through subscriptions', async () => {
  const client = createClient({
    url: url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: { authorization: b.headers.authorization! },
  });
  try {
    for (const field of ['runEvents', 'runEventStream', 'runUpdated', 'workflowRunsUpdated']) {
      const c = SUBSCRIPTIONS[field]!;
      const outcome = await new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => resolve('no answer'), 5000);
        client.subscribe(
          { query: c.query, variables: c.variables() },
          {
            next: (v) => (clearTimeout(timer), resolve(v)),
            error: (e) => (clearTimeout(timer), resolve(e)),
            complete: () => (clearTimeout(timer), resolve('complete')),
          },
        );
      });
      expect(JSON.stringify(outcome), field).toMatch(/NOT_FOUND/);
    }
    // runsFeed: B's feed shows B's runs (positive control) and never A's.
    const seen: string[] = [];
    const feedsBefore = listeners.all();
    const stops = ['runsFeed', 'runFeed'].map((field) =>
      client.subscribe(
        { query: SUBSCRIPTIONS[field]!.query },
        { next: (v) => seen.push(JSON.stringify(v)), error: () => undefined, complete: () => undefined },
      ),
    );
    const stop = () => {
      for (const unsubscribe of stops) unsubscribe();
    };
    await until(
      'runsFeed and runFeed to be registered',
      10_000,
      () => listeners.all() >= feedsBefore + 2 && seen.some((s) => s.includes('SNAPSHOT_END')),
    );
    const aRun = await startRun(t, a.workflow!, { note: 'alpha-input-value' });
    await waitForRun(t, aRun);
    const bWorkflow = await t.gql(
      graphql(
        `mutation TenancyCreateInB { createWorkflow(input: { name: "b-feed", definition: { steps: [{ id: "s", type: "condition", config: { expression: "true" } }] } }) { __typename ... on CreateWorkflowPayload { workflow { id } } } }`,
      ),
      {},
      b.headers,
    );
    const bWorkflowId = ofType(bWorkflow.data?.createWorkflow, 'CreateWorkflowPayload').workflow.id;
    const bRun = await t.gql(
      graphql(
        `mutation TenancyRunInB($w: ID!) { runWorkflow(input: { workflowId: $w }) { __typename ... on RunPayload { run { id } } } }`,
      ),
      { w: bWorkflowId },
      b.headers,
    );
    const bRunId = ofType(bRun.data?.runWorkflow, 'RunPayload').run.id;
    await until(
      "B's run to complete in B's feed",
      10_000,
      () => seen.some((s) => s.includes(bRunId) && s.includes('COMPLETED')),
      25,
    );
    stop();
    expect(seen.some((s) => s.includes(bRunId))).toBe(true);
    expect(seen.some((s) => s.includes('SNAPSHOT_END'))).toBe(true); // runFeed answered (its snapshot had nothing of A)
    expect(seen.filter((s) => s.includes(aRun) || s.includes('alpha-input-value'))).toEqual([]);
  } finally {
    await client.dispose();
  }
});

it("other tenants' run exports are indistinguishable from missing ones", async () => {
  const base = url.replace('/graphql', '');
  const exported = await fetch(`${base}/api/runs/${a.run}/export`, {
    headers: b.headers,
    signal: AbortSignal.timeout(5000),
  });
  const missing = await fetch(`${base}/api/runs/${gid('Run', '01890000-0000-7000-8000-000000000000')}/export`, {
    headers: b.headers,
    signal: AbortSignal.timeout(5000),
  });
  expect(exported.status).toBe(404);
  expect(missing.status).toBe(404);
  expect(await exported.text()).not.toContain('alpha-input-value');
});
