// Version history through the API: updateWorkflow (PUT), diffs per step id, rollback, release
// labels, status, duplicate and delete — each refusing bad input with a path, unknown ids
// (other workspaces' included) with NOT_FOUND, and writing nothing when it refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow, gid, rawId } from './helpers/runs.ts';
import { ofType } from './helpers/typename.ts';

const Update = graphql(`
  mutation VersionsSuiteUpdate($input: UpdateWorkflowInput!) {
    updateWorkflow(input: $input) {
      __typename
      ... on WorkflowPayload { workflow { name description status latestVersion metadata maxConcurrentRuns tags { name } currentVersion { number changeSummary baseVersion } } }
      ... on Error { code }
      ... on ValidationError { problems { path message } }
    }
  }
`);

const Patch = graphql(`
  mutation VersionsSuitePatch($input: PatchWorkflowInput!) { patchWorkflow(input: $input) { __typename ... on Error { code message } } }
`);

const Diff = graphql(`
  query VersionsSuiteDiff($id: ID!, $from: Int!, $to: Int!) {
    workflow(id: $id) { diff(from: $from, to: $to) { from to summary added removed modified changedFields operations } }
  }
`);

const History = graphql(`
  query VersionsSuiteHistory($id: ID!, $first: Int) {
    workflow(id: $id) {
      latestVersion
      versions(first: $first) { totalCount edges { node { number changeSummary baseVersion releaseLabels diffFromPrevious { from to summary } } } }
    }
  }
`);

const Rollback = graphql(`
  mutation VersionsSuiteRollback($input: RollbackWorkflowInput!) {
    rollbackWorkflow(input: $input) {
      __typename
      ... on WorkflowPayload { workflow { latestVersion currentVersion { number definition changeSummary baseVersion diffFromPrevious { summary added } } } }
      ... on Error { code }
      ... on ValidationError { problems { path message } }
    }
  }
`);

const SetLabel = graphql(`
  mutation VersionsSuiteSetLabel($input: SetReleaseLabelInput!) {
    setReleaseLabel(input: $input) {
      __typename
      ... on WorkflowPayload { workflow { releaseLabels { label version { number } } } }
      ... on Error { code }
      ... on ValidationError { problems { path message } }
    }
  }
`);

const RemoveLabel = graphql(`
  mutation VersionsSuiteRemoveLabel($input: RemoveReleaseLabelInput!) {
    removeReleaseLabel(input: $input) {
      __typename
      ... on WorkflowPayload { workflow { releaseLabels { label } } }
      ... on Error { code }
      ... on ValidationError { problems { path message } }
    }
  }
`);

const ByLabel = graphql(`
  query VersionsSuiteByLabel($id: ID!) {
    workflow(id: $id) {
      byLabel: version(label: "production") { number releaseLabels }
      byNumber: version(number: 2) { number }
      none: version(number: 99) { number }
      noLabel: version(label: "nope") { number }
    }
  }
`);

const SetStatus = graphql(`
  mutation VersionsSuiteSetStatus($input: SetWorkflowStatusInput!) {
    setWorkflowStatus(input: $input) { __typename ... on WorkflowPayload { workflow { status } } ... on Error { code } }
  }
`);

const Duplicate = graphql(`
  mutation VersionsSuiteDuplicate($input: DuplicateWorkflowInput!) {
    duplicateWorkflow(input: $input) {
      __typename
      ... on WorkflowPayload {
        workflow { id name description status triggerType latestVersion maxConcurrentRuns metadata webhookUrl commandAllowlist definition tags { name } releaseLabels { label } currentVersion { changeSummary } }
      }
      ... on Error { code }
      ... on ValidationError { problems { path message } }
    }
  }
`);

const Delete = graphql(`
  mutation VersionsSuiteDelete($input: WorkflowIdInput!) {
    deleteWorkflow(input: $input) { __typename ... on DeleteWorkflowPayload { deletedWorkflowId } ... on Error { code } }
  }
`);

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
  config: { method: 'GET', url },
  ...(dependsOn ? { dependsOn } : {}),
});
const base = () => ({ steps: [step('fetch', 'http://127.0.0.1/a'), step('notify', 'http://127.0.0.1/n', ['fetch'])] });

async function counts() {
  const p = t.db.prisma;
  return {
    workflows: await p.workflow.count(),
    versions: await p.workflowVersion.count(),
    labels: await p.releaseLabel.count(),
    workflowTags: await p.workflowTag.count(),
    tags: await p.tag.count(),
  };
}

/** A workflow of another workspace: every mutation must treat its id as unknown. */
async function foreignWorkflow() {
  const p = t.db.prisma;
  const workspace = await p.workspace.create({
    data: { name: 'Other', slug: `other-${Math.random().toString(36).slice(2)}` },
  });
  const workflow = await p.workflow.create({
    data: { workspaceId: workspace.id, name: 'theirs', latestVersion: 1, status: 'ACTIVE' },
  });
  const version = await p.workflowVersion.create({
    data: { workspaceId: workspace.id, workflowId: workflow.id, number: 1, definition: base() },
  });
  await p.releaseLabel.create({
    data: { workspaceId: workspace.id, workflowId: workflow.id, versionId: version.id, label: 'production' },
  });
  return { id: gid('Workflow', workflow.id), rawId: workflow.id };
}

describe('updateWorkflow (PUT)', () => {
  it('creates a new version only when the definition changes, and replaces everything else', async () => {
    const id = await createWorkflow(t, base(), {
      description: 'old',
      metadata: { a: 1 },
      maxConcurrentRuns: 3,
      tags: ['etl'],
      status: 'ACTIVE',
    });
    const same = ofType(
      (await t.gql(Update, { input: { id, name: 'renamed', definition: base(), changeSummary: 'ignored' } })).data!
        .updateWorkflow,
      'WorkflowPayload',
    );
    // PUT: what is left out returns to its default; status is kept when not given.
    expect(same.workflow).toMatchObject({
      name: 'renamed',
      latestVersion: 1,
      description: null,
      metadata: null,
      maxConcurrentRuns: null,
      tags: [],
      status: 'ACTIVE',
      currentVersion: { number: 1 },
    });
    const changed = { steps: [...base().steps, step('extra', 'http://127.0.0.1/x')] };
    const next = ofType(
      (
        await t.gql(Update, {
          input: {
            id,
            name: 'renamed',
            definition: changed,
            changeSummary: 'Added error handling step',
            tags: ['ops'],
            status: 'PAUSED',
          },
        })
      ).data!.updateWorkflow,
      'WorkflowPayload',
    );
    expect(next.workflow).toMatchObject({
      latestVersion: 2,
      status: 'PAUSED',
      tags: [{ name: 'ops' }],
      currentVersion: { number: 2, changeSummary: 'Added error handling step', baseVersion: 1 },
    });
  });

  it('refuses bad input with every problem and unknown or foreign ids with NOT_FOUND, writing nothing', async () => {
    const id = await createWorkflow(t, base());
    const foreign = await foreignWorkflow();
    const before = await counts();
    const bad = ofType(
      (
        await t.gql(Update, {
          input: {
            id,
            name: ' ',
            definition: { steps: [step('a', 'http://127.0.0.1/a', ['b'])] },
            maxConcurrentRuns: 0,
            changeSummary: 'c'.repeat(5001),
          },
        })
      ).data!.updateWorkflow,
      'ValidationError',
    );
    expect(bad.problems.map((p) => p.path.join('.'))).toEqual([
      'input.name',
      'input.definition.steps.0.dependsOn.0',
      'input.maxConcurrentRuns',
      'input.changeSummary',
    ]);
    for (const unknown of [foreign.id, gid('Workflow', '00000000-0000-7000-8000-000000000000')]) {
      const result = (await t.gql(Update, { input: { id: unknown, name: 'mine', definition: base() } })).data!
        .updateWorkflow;
      expect(result).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    }
    expect(await counts()).toEqual(before);
    expect(await t.db.prisma.workflow.findUniqueOrThrow({ where: { id: foreign.rawId } })).toMatchObject({
      name: 'theirs',
    });
  });
});

describe('diff', () => {
  it('compares steps by id: inserting a step first does not mark the later ones as modified', async () => {
    const id = await createWorkflow(t, base());
    const v2 = {
      steps: [
        { id: 'first', type: 'wait', config: { seconds: 1 } },
        step('fetch', 'http://127.0.0.1/a'),
        step('notify', 'http://127.0.0.1/changed', ['fetch']),
      ],
    };
    await t.gql(Update, { input: { id, name: 'x', definition: v2 } });
    const diff = (await t.gql(Diff, { id, from: 1, to: 2 })).data!.workflow!.diff;
    expect(diff).toMatchObject({
      from: 1,
      to: 2,
      summary: 'Added 1 step, modified 1 step',
      added: ['first'],
      removed: [],
      modified: ['notify'],
      changedFields: [],
    });
    expect(diff.operations).toEqual(
      expect.arrayContaining([
        { op: 'replace', path: '/steps/notify/config/url', value: 'http://127.0.0.1/changed' },
        { op: 'add', path: '/steps/first', value: { id: 'first', type: 'wait', config: { seconds: 1 } } },
      ]),
    );
    expect(diff.operations).toHaveLength(2);
  });

  it('reports removals and top-level changes, treats a reordering as no change, and diffs backwards', async () => {
    const id = await createWorkflow(t, {
      steps: [step('a', 'http://127.0.0.1/a'), step('b', 'http://127.0.0.1/b'), step('c', 'http://127.0.0.1/c')],
    });
    await t.gql(Update, {
      input: {
        id,
        name: 'x',
        definition: {
          steps: [step('c', 'http://127.0.0.1/c'), step('b', 'http://127.0.0.1/b'), step('a', 'http://127.0.0.1/a')],
        },
      },
    });
    await t.gql(Update, {
      input: {
        id,
        name: 'x',
        definition: { steps: [step('a', 'http://127.0.0.1/a')], inputSchema: { type: 'object' } },
      },
    });
    expect((await t.gql(Diff, { id, from: 1, to: 2 })).data!.workflow!.diff).toMatchObject({
      summary: 'No changes',
      operations: [],
      modified: [],
    });
    const diff = (await t.gql(Diff, { id, from: 2, to: 3 })).data!.workflow!.diff;
    expect(diff).toMatchObject({
      summary: 'Removed 2 steps, changed inputSchema',
      added: [],
      removed: ['c', 'b'],
      modified: [],
      changedFields: ['inputSchema'],
    });
    expect(diff.operations).toEqual(
      expect.arrayContaining([
        { op: 'remove', path: '/steps/b' },
        { op: 'remove', path: '/steps/c' },
        { op: 'add', path: '/inputSchema', value: { type: 'object' } },
      ]),
    );
    expect((await t.gql(Diff, { id, from: 3, to: 1 })).data!.workflow!.diff).toMatchObject({
      summary: 'Added 2 steps, changed inputSchema',
      added: ['b', 'c'],
    });
  });

  it('refuses versions that do not exist, naming each argument', async () => {
    const id = await createWorkflow(t, base());
    const res = await t.gql(Diff, { id, from: 0, to: 9 });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      problems: [{ path: ['from'] }, { path: ['to'] }],
    });
  });

  it('gives each version its diff from the previous one in the history', async () => {
    const id = await createWorkflow(t, base());
    await t.gql(Patch, { input: { id, commitMessage: 'second', definition: { steps: { notify: null } } } });
    await t.gql(Patch, {
      input: { id, commitMessage: 'third', definition: { steps: { extra: { type: 'wait', config: { seconds: 1 } } } } },
    });
    const history = (await t.gql(History, { id, first: 10 })).data!.workflow!;
    expect(history.versions.edges.map((e) => e.node)).toEqual([
      {
        number: 3,
        changeSummary: 'third',
        baseVersion: 2,
        releaseLabels: [],
        diffFromPrevious: { from: 2, to: 3, summary: 'Added 1 step' },
      },
      {
        number: 2,
        changeSummary: 'second',
        baseVersion: 1,
        releaseLabels: [],
        diffFromPrevious: { from: 1, to: 2, summary: 'Removed 1 step' },
      },
      { number: 1, changeSummary: 'Initial version', baseVersion: null, releaseLabels: [], diffFromPrevious: null },
    ]);
  });
});

describe('rollbackWorkflow', () => {
  it('creates a new version with the old definition', async () => {
    const id = await createWorkflow(t, base());
    await t.gql(Patch, { input: { id, definition: { steps: { notify: null } } } });
    const wf = ofType(
      (await t.gql(Rollback, { input: { id, version: 1 } })).data!.rollbackWorkflow,
      'WorkflowPayload',
    ).workflow;
    expect(wf).toMatchObject({
      latestVersion: 3,
      currentVersion: {
        number: 3,
        definition: base(),
        changeSummary: 'Rollback to version 1',
        baseVersion: 1,
        diffFromPrevious: { summary: 'Added 1 step', added: ['notify'] },
      },
    });
    const history = (await t.gql(History, { id, first: 1 })).data!.workflow!;
    expect(history.versions.totalCount).toBe(3);
    expect(history.versions.edges[0]!.node.diffFromPrevious?.summary).toBe('Added 1 step');
  });

  it('refuses a version that does not exist and unknown or foreign workflows, writing nothing', async () => {
    const id = await createWorkflow(t, base());
    const foreign = await foreignWorkflow();
    const before = await counts();
    for (const version of [0, 2]) {
      const bad = ofType((await t.gql(Rollback, { input: { id, version } })).data!.rollbackWorkflow, 'ValidationError');
      expect(bad.problems.map((p) => p.path)).toEqual([['input', 'version']]);
    }
    expect((await t.gql(Rollback, { input: { id: foreign.id, version: 1 } })).data!.rollbackWorkflow).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await counts()).toEqual(before);
  });
});

describe('release labels', () => {
  it('sets, moves and removes labels; versions are fetched by number or by label', async () => {
    const id = await createWorkflow(t, base());
    await t.gql(Patch, { input: { id, definition: { steps: { notify: null } } } });
    await t.gql(Patch, { input: { id, definition: { steps: { fetch: { name: 'Fetch' } } } } });
    ofType(
      (await t.gql(SetLabel, { input: { workflowId: id, label: 'production', version: 2 } })).data!.setReleaseLabel,
      'WorkflowPayload',
    );
    const moved = ofType(
      (await t.gql(SetLabel, { input: { workflowId: id, label: 'production', version: 1 } })).data!.setReleaseLabel,
      'WorkflowPayload',
    );
    expect(moved.workflow.releaseLabels).toEqual([{ label: 'production', version: { number: 1 } }]);
    await t.gql(SetLabel, { input: { workflowId: id, label: 'staging.eu-1', version: 3 } });
    expect((await t.gql(ByLabel, { id })).data!.workflow).toEqual({
      byLabel: { number: 1, releaseLabels: ['production'] },
      byNumber: { number: 2 },
      none: null,
      noLabel: null,
    });

    const removed = ofType(
      (await t.gql(RemoveLabel, { input: { workflowId: id, label: 'production' } })).data!.removeReleaseLabel,
      'WorkflowPayload',
    );
    expect(removed.workflow.releaseLabels).toEqual([{ label: 'staging.eu-1' }]);
    const again = ofType(
      (await t.gql(RemoveLabel, { input: { workflowId: id, label: 'production' } })).data!.removeReleaseLabel,
      'ValidationError',
    );
    expect(again.problems.map((p) => p.path)).toEqual([['input', 'label']]);
    const both = await t.gql(`query($id: ID!) { workflow(id: $id) { version(number: 1, label: "x") { number } } }`, {
      id,
    });
    expect(both.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('fetches versions by number and label across a list without a query per workflow', async () => {
    const ListVersions = graphql(`
      query VersionsSuiteListVersions($first: Int!) {
        workflows(first: $first, filter: { search: "label-list-" }, orderBy: { field: NAME, direction: ASC }) {
          edges { node { name currentVersion { number } releaseLabels { label } one: version(number: 1) { number } prod: version(label: "production") { number releaseLabels } } }
        }
      }
    `);
    for (let i = 0; i < 6; i++) {
      const id = await createWorkflow(t, base(), { name: `label-list-${i}` });
      await t.gql(Patch, { input: { id, definition: { steps: { fetch: { name: `v2` } } } } });
      if (i % 2 === 0) await t.gql(SetLabel, { input: { workflowId: id, label: 'production', version: 2 } });
    }
    const statementsFor = async (first: number) => {
      const statements: string[] = [];
      const stop = t.db.onQuery((e) => statements.push(e.query));
      const res = await t.gql(ListVersions, { first });
      stop();
      expect(res.errors).toBeUndefined();
      const nodes = res.data!.workflows.edges.map((e) => e.node);
      expect(nodes).toHaveLength(first);
      expect(nodes[0]).toEqual({
        name: 'label-list-0',
        currentVersion: { number: 2 },
        releaseLabels: [{ label: 'production' }],
        one: { number: 1 },
        prod: { number: 2, releaseLabels: ['production'] },
      });
      expect(nodes[1]).toMatchObject({ releaseLabels: [], one: { number: 1 }, prod: null });
      return statements.filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(q.trim())).length;
    };
    expect(await statementsFor(6)).toBe(await statementsFor(2));
  });

  it('refuses bad labels, missing versions and foreign workflows, writing nothing', async () => {
    const id = await createWorkflow(t, base());
    const foreign = await foreignWorkflow();
    const before = await counts();
    for (const label of ['Prod', '-x', '', 'a'.repeat(64), 'has space']) {
      const bad = ofType(
        (await t.gql(SetLabel, { input: { workflowId: id, label, version: 1 } })).data!.setReleaseLabel,
        'ValidationError',
      );
      expect(bad.problems.map((p) => p.path)).toEqual([['input', 'label']]);
    }
    const both = ofType(
      (await t.gql(SetLabel, { input: { workflowId: id, label: 'Bad!', version: 0 } })).data!.setReleaseLabel,
      'ValidationError',
    );
    expect(both.problems.map((p) => p.path.join('.'))).toEqual(['input.label', 'input.version']);
    const missing = ofType(
      (await t.gql(SetLabel, { input: { workflowId: id, label: 'production', version: 5 } })).data!.setReleaseLabel,
      'ValidationError',
    );
    expect(missing.problems[0]).toEqual({
      path: ['input', 'version'],
      message: 'version 5 does not exist (the latest is 1)',
    });
    expect(
      (await t.gql(SetLabel, { input: { workflowId: foreign.id, label: 'production', version: 1 } })).data!
        .setReleaseLabel,
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect(
      (await t.gql(RemoveLabel, { input: { workflowId: foreign.id, label: 'production' } })).data!.removeReleaseLabel,
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect(await counts()).toEqual(before);
  });
});

describe('status, duplicate and delete', () => {
  it('sets the status; foreign and unknown workflows are NOT_FOUND and untouched', async () => {
    const id = await createWorkflow(t, base());
    const foreign = await foreignWorkflow();
    for (const status of ['ACTIVE', 'PAUSED', 'ARCHIVED', 'DRAFT'] as const) {
      expect(
        ofType((await t.gql(SetStatus, { input: { id, status } })).data!.setWorkflowStatus, 'WorkflowPayload').workflow
          .status,
      ).toBe(status);
    }
    expect(
      (await t.gql(SetStatus, { input: { id: foreign.id, status: 'ARCHIVED' } })).data!.setWorkflowStatus,
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect((await t.db.prisma.workflow.findUniqueOrThrow({ where: { id: foreign.rawId } })).status).toBe('ACTIVE');
  });

  it('duplicates the current definition, description, tags and settings into a DRAFT with its own history', async () => {
    const id = await createWorkflow(t, base(), {
      tags: ['etl', 'nightly'],
      maxConcurrentRuns: 3,
      description: 'orig',
      metadata: { team: 'data' },
      webhookUrl: 'https://hooks.example.com/x',
      commandAllowlist: ['echo *'],
      status: 'ACTIVE',
      triggerType: 'WEBHOOK',
    });
    await t.gql(Patch, { input: { id, releaseLabels: ['production'], definition: { steps: { notify: null } } } });
    const copy = ofType(
      (await t.gql(Duplicate, { input: { id } })).data!.duplicateWorkflow,
      'WorkflowPayload',
    ).workflow;
    expect(copy).toMatchObject({
      description: 'orig',
      status: 'DRAFT',
      triggerType: 'WEBHOOK',
      latestVersion: 1,
      maxConcurrentRuns: 3,
      metadata: { team: 'data' },
      webhookUrl: 'https://hooks.example.com/x',
      commandAllowlist: ['echo *'],
      definition: { steps: [step('fetch', 'http://127.0.0.1/a')] },
      tags: [{ name: 'etl' }, { name: 'nightly' }],
      releaseLabels: [],
      currentVersion: { changeSummary: expect.stringMatching(/^Duplicated from ".*" version 2$/) },
    });
    expect(copy.name).toMatch(/^wf-\w+ \(copy\)$/);
    expect(await t.db.prisma.workflowVersion.count({ where: { workflowId: rawId(copy.id) } })).toBe(1);

    const named = ofType(
      (await t.gql(Duplicate, { input: { id, name: '  Mine ' } })).data!.duplicateWorkflow,
      'WorkflowPayload',
    ).workflow;
    expect(named.name).toBe('Mine');
  });

  it('shortens a long name so that "<name> (copy)" fits in 200 characters', async () => {
    const id = await createWorkflow(t, base(), { name: 'n'.repeat(200) });
    const copy = ofType(
      (await t.gql(Duplicate, { input: { id } })).data!.duplicateWorkflow,
      'WorkflowPayload',
    ).workflow;
    expect(copy.name).toBe(`${'n'.repeat(193)} (copy)`);
    expect(copy.name).toHaveLength(200);
  });

  it('refuses a bad name and foreign workflows, writing nothing', async () => {
    const id = await createWorkflow(t, base());
    const foreign = await foreignWorkflow();
    const before = await counts();
    for (const name of ['', 'x'.repeat(201)]) {
      const bad = ofType((await t.gql(Duplicate, { input: { id, name } })).data!.duplicateWorkflow, 'ValidationError');
      expect(bad.problems.map((p) => p.path)).toEqual([['input', 'name']]);
    }
    expect((await t.gql(Duplicate, { input: { id: foreign.id } })).data!.duplicateWorkflow).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await counts()).toEqual(before);
  });

  it('deletes a workflow with its versions and labels; a second delete and foreign ids are NOT_FOUND', async () => {
    const id = await createWorkflow(t, base(), { tags: ['gone'] });
    await t.gql(Patch, { input: { id, releaseLabels: ['production'], definition: { steps: { notify: null } } } });
    const foreign = await foreignWorkflow();
    const del = ofType((await t.gql(Delete, { input: { id } })).data!.deleteWorkflow, 'DeleteWorkflowPayload');
    expect(del.deletedWorkflowId).toBe(id);
    const where = { workflowId: rawId(id) };
    expect([
      await t.db.prisma.workflowVersion.count({ where }),
      await t.db.prisma.releaseLabel.count({ where }),
      await t.db.prisma.workflowTag.count({ where }),
    ]).toEqual([0, 0, 0]);
    expect((await t.gql(Delete, { input: { id } })).data!.deleteWorkflow).toMatchObject({ code: 'NOT_FOUND' });
    expect((await t.gql(Delete, { input: { id: foreign.id } })).data!.deleteWorkflow).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await t.db.prisma.workflow.count({ where: { id: foreign.rawId } })).toBe(1);
  });
});
