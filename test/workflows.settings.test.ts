// Workflow settings on createWorkflow (tags, versioned input/output schemas, metadata, webhooks,
// command allowlist, post-run checks, concurrency limits) as the API shows them, bad settings
// refused with every problem by path, and the workflows connection's filters and ordering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow, gid, rawId } from './helpers/runs.ts';

const Create = graphql(`
  mutation SettingsSuiteCreate($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) {
      __typename
      ... on CreateWorkflowPayload {
        workflow {
          id name tags { name } inputSchema outputSchema definition metadata webhooksEnabled webhookUrl hasWebhookSecret
          commandAllowlist postRunChecks { name expression } maxConcurrentRuns concurrency { key limit strategy }
          latestVersion currentVersion { number definition } runsCount lastRunAt lastRunStatus
        }
      }
      ... on ValidationError { problems { path message } }
    }
  }
`);

const List = graphql(`
  query SettingsSuiteList($first: Int, $filter: WorkflowFilter, $orderBy: WorkflowOrder) {
    workflows(first: $first, filter: $filter, orderBy: $orderBy) { totalCount edges { node { name inputSchema tags { name } } } }
  }
`);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const steps = [{ id: 'fetch', type: 'http_request', config: { method: 'GET', url: 'http://127.0.0.1/data' } }];
const schema = { type: 'object', properties: { customerId: { type: 'string' } }, required: ['customerId'] };

async function counts() {
  const p = t.db.prisma;
  return {
    workflows: await p.workflow.count(),
    versions: await p.workflowVersion.count(),
    tags: await p.tag.count(),
    workflowTags: await p.workflowTag.count(),
  };
}

describe('createWorkflow settings', () => {
  it('stores every setting and shows it; the schemas live in the versioned definition, the field winning', async () => {
    const res = await t.gql(Create, {
      input: {
        name: 'settings',
        definition: { steps, inputSchema: { type: 'string' }, outputSchema: { type: 'object' } },
        inputSchema: schema,
        tags: ['billing', 'nightly', 'billing'],
        metadata: { team: 'data', owner: { name: 'ann' } },
        webhooksEnabled: true,
        webhookUrl: 'https://hooks.example.com/weft',
        webhookSecret: 's'.repeat(32),
        commandAllowlist: ['echo *', 'python3'],
        postRunChecks: [{ name: 'has body', expression: '$exists(output.fetch.body)' }],
        maxConcurrentRuns: 2,
        concurrency: { key: 'input.customerId', limit: 1, strategy: 'CANCEL_IN_PROGRESS' },
      },
    });
    const result = res.data!.createWorkflow;
    if (result.__typename !== 'CreateWorkflowPayload') throw new Error(JSON.stringify(res));
    expect(result.workflow).toMatchObject({
      tags: [{ name: 'billing' }, { name: 'nightly' }],
      inputSchema: schema,
      outputSchema: { type: 'object' },
      definition: { steps, inputSchema: schema, outputSchema: { type: 'object' } },
      metadata: { team: 'data', owner: { name: 'ann' } },
      webhooksEnabled: true,
      webhookUrl: 'https://hooks.example.com/weft',
      hasWebhookSecret: true,
      commandAllowlist: ['echo *', 'python3'],
      postRunChecks: [{ name: 'has body', expression: '$exists(output.fetch.body)' }],
      maxConcurrentRuns: 2,
      concurrency: { key: 'input.customerId', limit: 1, strategy: 'CANCEL_IN_PROGRESS' },
      latestVersion: 1,
      runsCount: 0,
      lastRunAt: null,
      lastRunStatus: null,
    });
    const stored = await t.db.prisma.workflowVersion.findFirstOrThrow({
      where: { workflowId: rawId(result.workflow.id) },
    });
    expect(stored.definition).toMatchObject({ inputSchema: schema });
  });

  it('defaults: no tags, no schemas, no limits, strategy QUEUE', async () => {
    const res = await t.gql(Create, {
      input: { name: 'defaults', definition: { steps }, concurrency: { key: 'input.x', limit: 3 } },
    });
    const result = res.data!.createWorkflow;
    if (result.__typename !== 'CreateWorkflowPayload') throw new Error(JSON.stringify(res));
    expect(result.workflow).toMatchObject({
      tags: [],
      inputSchema: null,
      outputSchema: null,
      metadata: null,
      webhooksEnabled: false,
      hasWebhookSecret: false,
      commandAllowlist: [],
      postRunChecks: [],
      maxConcurrentRuns: null,
      concurrency: { strategy: 'QUEUE' },
    });
  });

  it('refuses bad settings with every problem by path and writes nothing', async () => {
    const before = await counts();
    const res = await t.gql(Create, {
      input: {
        name: 'bad',
        definition: { steps },
        inputSchema: { type: 'nonsense' },
        tags: ['ok', ''],
        metadata: ['not', 'an', 'object'],
        webhookUrl: 'ftp://example.com',
        webhookSecret: 'short',
        commandAllowlist: [' '],
        postRunChecks: [{ name: '', expression: '$$$(' }],
        maxConcurrentRuns: 0,
        concurrency: { key: '(((', limit: 0 },
      },
    });
    const result = res.data!.createWorkflow;
    if (result.__typename !== 'ValidationError') throw new Error(JSON.stringify(res));
    const paths = result.problems.map((p) => p.path.join('.'));
    expect(paths.find((p) => p.startsWith('input.inputSchema'))).toBeDefined();
    expect(paths.filter((p) => !p.startsWith('input.inputSchema')).sort()).toEqual(
      [
        'input.tags.1',
        'input.metadata',
        'input.webhookUrl',
        'input.webhookSecret',
        'input.commandAllowlist.0',
        'input.postRunChecks.0.name',
        'input.postRunChecks.0.expression',
        'input.maxConcurrentRuns',
        'input.concurrency.key',
        'input.concurrency.limit',
      ].sort(),
    );
    expect(await counts()).toEqual(before);
  });
});

describe('workflows connection', () => {
  beforeAll(async () => {
    await createWorkflow(
      t,
      { steps },
      { name: 'list-a billing', tags: ['list-billing'], status: 'ACTIVE', triggerType: 'SCHEDULE' },
    );
    await createWorkflow(
      t,
      { steps },
      { name: 'list-b billing', tags: ['list-billing', 'list-ops'], triggerType: 'WEBHOOK', description: 'Invoices' },
    );
    await createWorkflow(t, { steps }, { name: 'list-c', tags: ['list-ops'], status: 'ACTIVE', inputSchema: schema });
  });

  async function listNames(
    filter: Record<string, unknown>,
    orderBy?: { field: 'NAME' | 'CREATED_AT' | 'UPDATED_AT'; direction: 'ASC' | 'DESC' },
  ) {
    const res = await t.gql(List, {
      first: 50,
      filter: { search: 'list-', ...filter },
      ...(orderBy ? { orderBy } : {}),
    });
    expect(res.errors).toBeUndefined();
    return { totalCount: res.data!.workflows.totalCount, names: res.data!.workflows.edges.map((e) => e.node.name) };
  }

  it('filters by tag name or tag global id, status, trigger type and text, combined', async () => {
    expect(await listNames({ tag: 'list-billing' }, { field: 'NAME', direction: 'ASC' })).toEqual({
      totalCount: 2,
      names: ['list-a billing', 'list-b billing'],
    });
    const ops = await t.db.prisma.tag.findFirstOrThrow({ where: { workspaceId: t.workspaceId, name: 'list-ops' } });
    const opsId = gid('Tag', ops.id);
    expect(await listNames({ tag: opsId }, { field: 'NAME', direction: 'DESC' })).toEqual({
      totalCount: 2,
      names: ['list-c', 'list-b billing'],
    });
    expect(await listNames({ tag: 'list-ops', status: ['ACTIVE'] })).toEqual({ totalCount: 1, names: ['list-c'] });
    expect(await listNames({ triggerType: ['SCHEDULE', 'WEBHOOK'] }, { field: 'NAME', direction: 'ASC' })).toEqual({
      totalCount: 2,
      names: ['list-a billing', 'list-b billing'],
    });
    expect(await listNames({ search: 'invoices' })).toEqual({ totalCount: 1, names: ['list-b billing'] });
    expect(await listNames({ tag: 'no-such-tag' })).toEqual({ totalCount: 0, names: [] });
  });

  it('orders by creation time, newest first by default', async () => {
    expect((await listNames({})).names).toEqual(['list-c', 'list-b billing', 'list-a billing']);
    expect((await listNames({}, { field: 'CREATED_AT', direction: 'ASC' })).names).toEqual([
      'list-a billing',
      'list-b billing',
      'list-c',
    ]);
  });

  it("shows each workflow's input schema from its current version", async () => {
    const res = await t.gql(List, { first: 50, filter: { search: 'list-c' } });
    expect(res.data!.workflows.edges.map((e) => e.node.inputSchema)).toEqual([schema]);
  });
});
