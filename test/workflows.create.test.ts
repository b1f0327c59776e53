// First vertical slice through the API: createWorkflow, workflow(id), workflows, node(id),
// and bad input that must be refused with a stable code and path while writing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

const CreateWorkflow = graphql(`
  mutation CreateWorkflow($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) {
      __typename
      ... on CreateWorkflowPayload {
        workflow { id name description status triggerType latestVersion runsCount lastRunStatus lastRunAt definition currentVersion { number changeSummary } }
      }
      ... on ValidationError { code message problems { path message stepId } }
    }
  }
`);

const CreateWorkflowUntyped = graphql(`
  mutation CreateWorkflowUntyped($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) { ... on CreateWorkflowPayload { workflow { id } } }
  }
`);

const GetWorkflow = graphql(`
  query GetWorkflow($id: ID!) {
    workflow(id: $id) { id name versions(first: 5) { totalCount edges { node { number definition } } } }
  }
`);

const ListWorkflows = graphql(`
  query ListWorkflows($first: Int, $after: String, $filter: WorkflowFilter, $orderBy: WorkflowOrder) {
    workflows(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id name status } }
    }
  }
`);

const NodeQuery = graphql(`
  query NodeQuery($id: ID!) { node(id: $id) { __typename id ... on Workflow { name } } }
`);

const steps = [{ id: 'fetch', type: 'http_request', config: { method: 'GET', url: 'http://127.0.0.1/data' } }];

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function counts() {
  return { workflows: await t.db.prisma.workflow.count(), versions: await t.db.prisma.workflowVersion.count() };
}

describe('createWorkflow', () => {
  it('creates a DRAFT workflow with version 1 and returns it', async () => {
    const res = await t.gql(CreateWorkflow, {
      input: { name: '  Fetch and notify ', description: 'demo', definition: { steps } },
    });
    expect(res.errors).toBeUndefined();
    const result = res.data!.createWorkflow;
    if (result.__typename !== 'CreateWorkflowPayload') throw new Error(`unexpected ${result.__typename}`);
    expect(result.workflow).toMatchObject({
      name: 'Fetch and notify',
      description: 'demo',
      status: 'DRAFT',
      triggerType: 'MANUAL',
      latestVersion: 1,
      runsCount: 0,
      lastRunStatus: null,
      lastRunAt: null,
      definition: { steps },
      currentVersion: { number: 1, changeSummary: 'Initial version' },
    });
    const fetched = await t.gql(GetWorkflow, { id: result.workflow.id });
    expect(fetched.data?.workflow?.versions.totalCount).toBe(1);
    expect(fetched.data?.workflow?.versions.edges[0]?.node.definition).toEqual({ steps });
  });

  const badInputs: [string, Record<string, unknown>, string[]][] = [
    ['an empty name', { name: '', definition: { steps } }, ['input', 'name']],
    ['a blank name', { name: '   ', definition: { steps } }, ['input', 'name']],
    ['a name over 200 characters', { name: 'x'.repeat(201), definition: { steps } }, ['input', 'name']],
    [
      'a description over 5000 characters',
      { name: 'ok', description: 'd'.repeat(5001), definition: { steps } },
      ['input', 'description'],
    ],
    ['a definition that is not an object', { name: 'ok', definition: 'steps' }, ['input', 'definition']],
    [
      'a definition whose steps are not a list',
      { name: 'ok', definition: { steps: 3 } },
      ['input', 'definition', 'steps'],
    ],
    [
      'an unknown step type',
      { name: 'ok', definition: { steps: [{ id: 'a', type: 'teleport', config: {} }] } },
      ['input', 'definition', 'steps', '0', 'type'],
    ],
  ];

  for (const [what, input, path] of badInputs) {
    it(`refuses ${what} with VALIDATION_FAILED at ${path.join('.')} and writes nothing`, async () => {
      const before = await counts();
      const typed = await t.gql(CreateWorkflow, { input: input as never });
      expect(typed.errors).toBeUndefined();
      const result = typed.data!.createWorkflow;
      if (result.__typename !== 'ValidationError')
        throw new Error(`expected ValidationError, got ${result.__typename}`);
      expect(result.code).toBe('VALIDATION_FAILED');
      expect(result.problems.map((p) => p.path)).toContainEqual(path);

      // A client that does not select the error branch gets a GraphQL error instead of {}.
      const untyped = await t.gql(CreateWorkflowUntyped, { input: input as never });
      expect(untyped.errors).toHaveLength(1);
      expect(untyped.errors![0]!.extensions).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect((untyped.errors![0]!.extensions!.problems as { path: string[] }[]).map((p) => p.path)).toContainEqual(
        path,
      );
      expect(untyped.errors![0]!.path).toEqual(['createWorkflow']);
      expect(await counts()).toEqual(before);
    });
  }

  it('reports every problem at once', async () => {
    const res = await t.gql(CreateWorkflow, {
      input: {
        name: '',
        description: 'd'.repeat(5001),
        definition: {
          steps: [
            { id: 'a', type: 'nope' },
            { id: 'a', type: 'wait' },
          ],
        },
      },
    });
    const result = res.data!.createWorkflow;
    if (result.__typename !== 'ValidationError') throw new Error('expected ValidationError');
    expect(result.problems.map((p) => p.path.join('.'))).toEqual([
      'input.name',
      'input.description',
      'input.definition.steps.0.type',
      'input.definition.steps.1.config',
      'input.definition.steps.1.id',
    ]);
    expect(result.problems[4]).toMatchObject({ stepId: 'a', message: "Duplicate step id 'a'" });
  });

  it('rejects a missing required argument at the GraphQL layer without writing', async () => {
    const before = await counts();
    const res = await t.gql('mutation { createWorkflow(input: { description: "x" }) { __typename } }');
    expect(res.status).toBe(400);
    // Only the definition: the name may come inside it (the reference docs' spelling), so the service checks it.
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.errors?.map((e) => e.message).join(' ')).toMatch(/CreateWorkflowInput\.definition/);
    const badVariable = await t.gql(CreateWorkflow, { input: { name: 42, definition: { steps } } as never });
    expect(badVariable.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unparsable = await t.gql('mutation { createWorkflow(');
    expect(unparsable.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(await counts()).toEqual(before);
  });
});

describe('workflow(id) and node(id)', () => {
  it('returns NOT_FOUND for unknown, malformed and wrong-type ids', async () => {
    const unknown = Buffer.from('Workflow:00000000-0000-7000-8000-000000000000').toString('base64');
    const version = Buffer.from('Version:00000000-0000-7000-8000-000000000000').toString('base64');
    for (const id of [unknown, 'not-an-id', version, '']) {
      const res = await t.gql(GetWorkflow, { id });
      expect(res.data?.workflow).toBeNull();
      expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(res.errors?.[0]?.path).toEqual(['workflow']);
    }
  });

  it('resolves a workflow through node(id) and null for an unknown id', async () => {
    const created = await t.gql(CreateWorkflow, { input: { name: 'By node', definition: { steps } } });
    const result = created.data!.createWorkflow;
    if (result.__typename !== 'CreateWorkflowPayload') throw new Error('create failed');
    const res = await t.gql(NodeQuery, { id: result.workflow.id });
    expect(res.data?.node).toEqual({ __typename: 'Workflow', id: result.workflow.id, name: 'By node' });
    const missing = await t.gql(NodeQuery, {
      id: Buffer.from('Workflow:00000000-0000-7000-8000-000000000000').toString('base64'),
    });
    expect(missing.data?.node).toBeNull();
  });
});

describe('workflows connection', () => {
  beforeAll(async () => {
    for (const name of ['alpha', 'beta', 'gamma', 'delta', 'epsilon']) {
      await t.gql(CreateWorkflow, {
        input: {
          name: `list-${name}`,
          description: name === 'gamma' ? 'the Third one' : null,
          definition: { steps },
          status: name === 'beta' ? 'ACTIVE' : null,
        },
      });
    }
  });

  const listPage = (after: string | null) =>
    t.gql(ListWorkflows, {
      first: 2,
      after,
      filter: { search: 'list-' },
      orderBy: { field: 'NAME', direction: 'ASC' },
    });

  it('pages with cursors and reports totalCount', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res: Awaited<ReturnType<typeof listPage>> = await listPage(after);
      const conn = res.data!.workflows;
      expect(conn.totalCount).toBe(5);
      seen.push(...conn.edges.map((e) => e.node.name));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor ?? null;
    }
    expect(seen).toEqual(['list-alpha', 'list-beta', 'list-delta', 'list-epsilon', 'list-gamma']);
  });

  it('filters by status and searches name and description case-insensitively', async () => {
    const active = await t.gql(ListWorkflows, { first: 50, filter: { status: ['ACTIVE'] } });
    expect(active.data!.workflows.edges.map((e) => e.node.name)).toEqual(['list-beta']);
    const search = await t.gql(ListWorkflows, { first: 50, filter: { search: 'THIRD' } });
    expect(search.data!.workflows.edges.map((e) => e.node.name)).toEqual(['list-gamma']);
    expect(search.data!.workflows.totalCount).toBe(1);
  });

  it('refuses pages over 200 with a clear error', async () => {
    const res = await t.gql(ListWorkflows, { first: 201 });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(res.errors?.[0]?.message).toMatch(/at most 200/);
    const ok = await t.gql(ListWorkflows, { first: 200 });
    expect(ok.errors).toBeUndefined();
  });
});
