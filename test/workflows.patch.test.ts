// patchWorkflow through the API: only the fields present are applied (absent ≠ null), steps are
// merged by id (PromptLayer's patch semantics), metadata key by key (Cyberdesk's), from a
// baseVersion with optional strictness — and every bad patch is refused with every problem
// listed by path while nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import type { PatchWorkflowInput } from './generated/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow, gid, rawId } from './helpers/runs.ts';

const Patch = graphql(`
  mutation PatchSuitePatch($input: PatchWorkflowInput!) {
    patchWorkflow(input: $input) {
      __typename
      ... on WorkflowPayload {
        workflow {
          name description status latestVersion metadata maxConcurrentRuns webhookUrl commandAllowlist inputSchema outputSchema
          tags { name }
          concurrency { key limit strategy }
          releaseLabels { label version { number } }
          currentVersion { number definition changeSummary baseVersion releaseLabels }
        }
      }
      ... on Error { code message }
      ... on ValidationError { problems { path message stepId } }
    }
  }
`);

const Read = graphql(`
  query PatchSuiteRead($id: ID!) { workflow(id: $id) { name description status metadata latestVersion } }
`);

type PatchResult = NonNullable<Awaited<ReturnType<typeof patchRaw>>>;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const step = (id: string, url: string, dependsOn?: string[]) => ({
  id,
  type: 'http_request',
  config: { method: 'GET', url, headers: { a: '1' } },
  ...(dependsOn ? { dependsOn } : {}),
});
const base = () => ({ steps: [step('fetch', 'http://127.0.0.1/a'), step('notify', 'http://127.0.0.1/n', ['fetch'])] });

async function patchRaw(input: PatchWorkflowInput) {
  const res = await t.gql(Patch, { input });
  expect(res.errors).toBeUndefined();
  return res.data!.patchWorkflow;
}

async function patchOk(input: PatchWorkflowInput) {
  const result = await patchRaw(input);
  if (result.__typename !== 'WorkflowPayload')
    throw new Error(`expected WorkflowPayload, got ${JSON.stringify(result)}`);
  return result.workflow;
}

function problemsOf(result: PatchResult) {
  if (result.__typename !== 'ValidationError')
    throw new Error(`expected ValidationError, got ${JSON.stringify(result)}`);
  return result.problems;
}

const paths = (problems: { path: string[] }[]) => problems.map((p) => p.path.join('.'));
type Step = { id: string; dependsOn?: string[]; config?: { url?: string } } & Record<string, unknown>;
type Def = { steps: Step[] } & Record<string, unknown>;
const stepsById = (definition: unknown) => Object.fromEntries((definition as Def).steps.map((s) => [s.id, s]));

/** Rows a rejected patch must not touch. */
async function snapshot(workflowId: string) {
  const id = rawId(workflowId);
  const p = t.db.prisma;
  return {
    workflow: await p.workflow.findUniqueOrThrow({ where: { id } }),
    versions: await p.workflowVersion.count({ where: { workflowId: id } }),
    labels: await p.releaseLabel.findMany({ where: { workflowId: id }, orderBy: { label: 'asc' } }),
    tags: await p.tag.count(),
    workflowTags: await p.workflowTag.count({ where: { workflowId: id } }),
  };
}

describe('definition patches: steps merged by id', () => {
  it('adds, updates (config deep-merged, dependsOn replaced) and removes steps, dropping dependencies on removed steps', async () => {
    const id = await createWorkflow(t, {
      steps: [
        ...base().steps,
        step('audit', 'http://127.0.0.1/audit', ['fetch', 'notify']),
        step('log', 'http://127.0.0.1/log', ['notify']),
      ],
    });
    const wf = await patchOk({
      id,
      commitMessage: 'Point fetch at v2',
      definition: {
        steps: {
          fetch: { name: 'Fetch', config: { url: 'http://127.0.0.1/b', headers: { b: '2', a: null } } },
          notify: null,
          audit: { dependsOn: ['fetch', 'notify'] },
          added: { type: 'wait', config: { seconds: 1 }, dependsOn: ['fetch'] },
        },
      },
    });
    expect(wf.currentVersion).toMatchObject({ number: 2, changeSummary: 'Point fetch at v2', baseVersion: 1 });
    const def = wf.currentVersion.definition as Def;
    // Unmentioned steps keep their place; new steps go at the end.
    expect(def.steps.map((s) => s.id)).toEqual(['fetch', 'audit', 'log', 'added']);
    const steps = stepsById(def);
    expect(steps.fetch).toEqual({
      id: 'fetch',
      type: 'http_request',
      name: 'Fetch',
      config: { method: 'GET', url: 'http://127.0.0.1/b', headers: { b: '2' } },
    });
    expect(steps.audit?.dependsOn).toEqual(['fetch']); // replaced, then the removed 'notify' dropped
    expect(steps.log).not.toHaveProperty('dependsOn'); // its only dependency was removed
    expect(steps.added).toEqual({ id: 'added', type: 'wait', config: { seconds: 1 }, dependsOn: ['fetch'] });
  });

  it('removes a step field set to null and replaces top-level fields', async () => {
    const id = await createWorkflow(t, {
      steps: [{ ...step('fetch', 'http://127.0.0.1/a'), when: 'input.go', retry: { attempts: 3 } }],
      maxParallelSteps: 2,
    });
    const wf = await patchOk({
      id,
      definition: {
        steps: { fetch: { when: null, retry: { attempts: 5, backoffSeconds: 2 } } },
        maxParallelSteps: null,
        output: { body: '{{ steps.fetch.output.body }}' },
      },
    });
    const def = wf.currentVersion.definition as Def;
    expect(def.steps[0]).not.toHaveProperty('when');
    expect(def.steps[0]!.retry).toEqual({ attempts: 5, backoffSeconds: 2 });
    expect(def).not.toHaveProperty('maxParallelSteps');
    expect(def.output).toEqual({ body: '{{ steps.fetch.output.body }}' });
  });

  it('versions input and output schemas: the field wins over definition.inputSchema, null removes it', async () => {
    const id = await createWorkflow(t, base());
    const schema = { type: 'object', properties: { itemId: { type: 'string' } }, required: ['itemId'] };
    const wf = await patchOk({
      id,
      inputSchema: schema,
      outputSchema: { type: 'object' },
      definition: { inputSchema: { type: 'string' } },
    });
    expect(wf).toMatchObject({ latestVersion: 2, inputSchema: schema, outputSchema: { type: 'object' } });
    expect(wf.currentVersion.definition).toMatchObject({ inputSchema: schema, outputSchema: { type: 'object' } });
    const removed = await patchOk({ id, inputSchema: null });
    expect(removed).toMatchObject({ latestVersion: 3, inputSchema: null, outputSchema: { type: 'object' } });
    expect(removed.currentVersion.definition).not.toHaveProperty('inputSchema');
  });
});

describe('only the fields present are applied', () => {
  it('keeps absent fields, clears null ones, and merges metadata key by key', async () => {
    const id = await createWorkflow(t, base(), {
      description: 'keep me',
      metadata: { team: 'data', owner: 'ann', tier: 1 },
      maxConcurrentRuns: 4,
      webhookUrl: 'https://hooks.example.com/x',
      commandAllowlist: ['echo *'],
      tags: ['etl'],
    });
    const a = await patchOk({ id, name: 'patched', metadata: { owner: null, tier: 2, region: 'eu' } });
    expect(a).toMatchObject({
      name: 'patched',
      description: 'keep me',
      metadata: { team: 'data', tier: 2, region: 'eu' },
      maxConcurrentRuns: 4,
      webhookUrl: 'https://hooks.example.com/x',
      commandAllowlist: ['echo *'],
      tags: [{ name: 'etl' }],
      latestVersion: 1, // no definition change: no new version
    });
    const b = await patchOk({
      id,
      description: null,
      metadata: null,
      maxConcurrentRuns: null,
      commandAllowlist: null,
      tags: ['ops', 'etl'],
      status: 'ACTIVE',
      concurrency: { key: 'input.customerId', limit: 2 },
    });
    expect(b).toMatchObject({
      description: null,
      metadata: null,
      maxConcurrentRuns: null,
      commandAllowlist: [],
      status: 'ACTIVE',
      webhookUrl: 'https://hooks.example.com/x',
      concurrency: { key: 'input.customerId', limit: 2, strategy: 'QUEUE' },
      latestVersion: 1,
    });
    expect(b.tags.map((tag) => tag.name).sort()).toEqual(['etl', 'ops']);
    const read = await t.gql(Read, { id });
    expect(read.data!.workflow).toEqual({
      name: 'patched',
      description: null,
      status: 'ACTIVE',
      metadata: null,
      latestVersion: 1,
    });
    // Metadata patched after being cleared starts from an empty object.
    expect((await patchOk({ id, metadata: { a: 1, b: null } })).metadata).toEqual({ a: 1 });
  });
});

describe('baseVersion, strict and release labels', () => {
  it('patches an older base version, moves release labels to the new version, and refuses a stale base with strict', async () => {
    const id = await createWorkflow(t, base());
    await patchOk({
      id,
      releaseLabels: ['staging'],
      definition: { steps: { fetch: { config: { url: 'http://127.0.0.1/v2' } } } },
    });
    const fromOne = await patchOk({
      id,
      baseVersion: 1,
      releaseLabels: ['staging', 'production'],
      definition: { steps: { notify: { config: { url: 'http://127.0.0.1/n2' } } } },
    });
    expect(fromOne.currentVersion).toMatchObject({
      number: 3,
      baseVersion: 1,
      releaseLabels: ['production', 'staging'],
    });
    expect(fromOne.releaseLabels).toEqual([
      { label: 'production', version: { number: 3 } },
      { label: 'staging', version: { number: 3 } },
    ]);
    const steps = stepsById(fromOne.currentVersion.definition);
    expect(steps.fetch?.config?.url).toBe('http://127.0.0.1/a'); // from version 1: version 2's change is not carried over
    expect(steps.notify?.config?.url).toBe('http://127.0.0.1/n2');

    const before = await snapshot(id);
    const stale = await patchRaw({
      id,
      baseVersion: 2,
      strict: true,
      name: 'never',
      definition: { steps: { fetch: { name: 'x' } } },
    });
    expect(stale).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    expect(stale.__typename === 'ConflictError' && stale.message).toMatch(/latest version is 3/);
    expect(await snapshot(id)).toEqual(before);

    const fresh = await patchOk({ id, baseVersion: 3, strict: true, definition: { steps: { fetch: { name: 'ok' } } } });
    expect(fresh.currentVersion).toMatchObject({ number: 4, baseVersion: 3 });
  });

  it('refuses a base version that does not exist, and labels without a definition change', async () => {
    const id = await createWorkflow(t, base());
    const before = await snapshot(id);
    const missing = problemsOf(await patchRaw({ id, baseVersion: 7, definition: { steps: { fetch: { name: 'x' } } } }));
    expect(missing).toEqual([
      { path: ['input', 'baseVersion'], message: 'version 7 does not exist (the latest is 1)', stepId: null },
    ]);
    expect(paths(problemsOf(await patchRaw({ id, baseVersion: 0, definition: { steps: {} } })))).toEqual([
      'input.baseVersion',
    ]);
    expect(paths(problemsOf(await patchRaw({ id, releaseLabels: ['staging'], name: 'x' })))).toEqual([
      'input.releaseLabels',
    ]);
    expect(await snapshot(id)).toEqual(before);
  });
});

describe('bad patches: every problem, by path, nothing written', () => {
  it('lists every problem of the input at once', async () => {
    const id = await createWorkflow(t, base(), { tags: ['keep'] });
    const before = await snapshot(id);
    const problems = problemsOf(
      await patchRaw({
        id,
        name: '',
        description: 'd'.repeat(5001),
        status: null,
        maxConcurrentRuns: 0,
        webhookUrl: 'ftp://x',
        metadata: [1, 2],
        tags: ['ok', ' '],
        releaseLabels: ['Prod!'],
        definition: { stepz: {}, steps: { fetch: 'remove', notify: { id: 'renamed' } } },
      }),
    );
    expect(paths(problems).sort()).toEqual(
      [
        'input.name',
        'input.description',
        'input.status',
        'input.maxConcurrentRuns',
        'input.webhookUrl',
        'input.metadata',
        'input.tags.1',
        'input.releaseLabels.0',
        'input.definition.stepz',
        'input.definition.steps.fetch',
        'input.definition.steps.notify.id',
      ].sort(),
    );
    expect(problems.find((p) => p.path.join('.') === 'input.definition.stepz')?.message).toMatch(
      /Unknown field 'stepz'/,
    );
    expect(await snapshot(id)).toEqual(before);
  });

  it('validates the patched definition, reporting steps by id together with the other problems', async () => {
    const id = await createWorkflow(t, base());
    const before = await snapshot(id);
    const problems = problemsOf(
      await patchRaw({
        id,
        name: '',
        inputSchema: { type: 'no-such-type' },
        definition: {
          steps: { extra: { type: 'teleport', config: {} }, notify: { dependsOn: ['ghost'] }, gone: null },
        },
      }),
    );
    // A schema problem may point inside the schema (input.inputSchema.type): compare the prefix.
    expect(
      problems.map((p) => [p.path.slice(0, p.path[1] === 'inputSchema' ? 2 : undefined).join('.'), p.stepId ?? null]),
    ).toEqual(
      expect.arrayContaining([
        ['input.name', null],
        ['input.inputSchema', null],
        ['input.definition.steps.gone', 'gone'],
        ['input.definition.steps.extra.type', 'extra'],
        ['input.definition.steps.notify.dependsOn.0', 'notify'],
      ]),
    );
    expect(problems.find((p) => p.stepId === 'notify')?.message).toBe(
      "Step 'notify' depends on 'ghost' which doesn't exist",
    );
    expect(problems).toHaveLength(5);
    expect(await snapshot(id)).toEqual(before);
  });

  it('refuses removing every step', async () => {
    const id = await createWorkflow(t, base());
    const before = await snapshot(id);
    const problems = problemsOf(await patchRaw({ id, definition: { steps: { fetch: null, notify: null } } }));
    expect(paths(problems)).toEqual(['input.definition.steps']);
    expect(problems[0]!.message).toMatch(/at least one step/);
    expect(await snapshot(id)).toEqual(before);
  });

  it("answers NOT_FOUND for unknown ids and for another workspace's workflow, which stays untouched", async () => {
    const other = await t.db.prisma.workspace.create({ data: { name: 'Other', slug: `other-${Date.now()}` } });
    const theirs = await t.db.prisma.workflow.create({
      data: { workspaceId: other.id, name: 'theirs', latestVersion: 1 },
    });
    await t.db.prisma.workflowVersion.create({
      data: { workspaceId: other.id, workflowId: theirs.id, number: 1, definition: base() },
    });
    for (const id of [
      gid('Workflow', theirs.id),
      gid('Workflow', '00000000-0000-7000-8000-000000000000'),
      'not-a-global-id',
      gid('Tag', theirs.id),
    ]) {
      const result = await patchRaw({ id, name: 'mine now', definition: { steps: { fetch: { name: 'x' } } } });
      expect(result).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    }
    expect(await t.db.prisma.workflow.findUniqueOrThrow({ where: { id: theirs.id } })).toMatchObject({
      name: 'theirs',
      latestVersion: 1,
    });
    expect(await t.db.prisma.workflowVersion.count({ where: { workflowId: theirs.id } })).toBe(1);
  });

  it('raises the failure as a GraphQL error with extensions.code when the error branch is not selected', async () => {
    const id = await createWorkflow(t, base());
    const res = await t.gql(
      `mutation($input: PatchWorkflowInput!) { patchWorkflow(input: $input) { ... on WorkflowPayload { workflow { id } } } }`,
      { input: { id, definition: { steps: { nope: null } } } },
    );
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      problems: [{ path: ['input', 'definition', 'steps', 'nope'] }],
    });
  });
});
