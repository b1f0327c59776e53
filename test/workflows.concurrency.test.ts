// Concurrent changes of one workflow, sent truly at once (Promise.all; on PostgreSQL each
// request gets its own pooled connection, so the row lock is what serialises them): version
// numbers stay contiguous — never a duplicate, never a gap, never a lost change — and a strict
// patch naming a stale baseVersion is refused with CONFLICT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import type { PatchWorkflowInput } from './generated/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow, rawId } from './helpers/runs.ts';

const Patch = graphql(`
  mutation ConcurrencySuitePatch($input: PatchWorkflowInput!) {
    patchWorkflow(input: $input) { __typename ... on WorkflowPayload { workflow { latestVersion } } ... on Error { code message } }
  }
`);

const Update = graphql(`
  mutation ConcurrencySuiteUpdate($input: UpdateWorkflowInput!) {
    updateWorkflow(input: $input) { __typename ... on Error { code message } }
  }
`);

const Rollback = graphql(`
  mutation ConcurrencySuiteRollback($input: RollbackWorkflowInput!) {
    rollbackWorkflow(input: $input) { __typename ... on Error { code message } }
  }
`);

const SetLabel = graphql(`
  mutation ConcurrencySuiteSetLabel($input: SetReleaseLabelInput!) {
    setReleaseLabel(input: $input) { __typename ... on Error { code message } }
  }
`);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const step = (id: string) => ({ id, type: 'http_request', config: { method: 'GET', url: `http://127.0.0.1/${id}` } });
const manySteps = (n: number) => ({ steps: Array.from({ length: n }, (_, i) => step(`s${i}`)) });

async function patch(input: PatchWorkflowInput) {
  const res = await t.gql(Patch, { input });
  expect(res.errors).toBeUndefined();
  return res.data!.patchWorkflow;
}

async function versionsOf(workflowId: string) {
  const id = rawId(workflowId);
  const [workflow, versions] = await Promise.all([
    t.db.prisma.workflow.findUniqueOrThrow({ where: { id } }),
    t.db.prisma.workflowVersion.findMany({ where: { workflowId: id }, orderBy: { number: 'asc' } }),
  ]);
  return { latestVersion: workflow.latestVersion, versions };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('concurrent patches of one workflow', () => {
  it('all succeed with consecutive version numbers, each building on the one before, and none is lost', async () => {
    const n = 20;
    const id = await createWorkflow(t, manySteps(n));
    const results = await Promise.all(
      range(0, n - 1).map((i) =>
        patch({
          id,
          commitMessage: `patch ${i}`,
          definition: { steps: { [`s${i}`]: { config: { url: `http://127.0.0.1/patched-${i}` } } } },
        }),
      ),
    );
    expect(results.map((r) => r.__typename)).toEqual(Array(n).fill('WorkflowPayload'));
    // Each patch saw the state the previous one committed: its latestVersion is unique.
    expect(
      results.map((r) => (r.__typename === 'WorkflowPayload' ? r.workflow.latestVersion : 0)).sort((a, b) => a - b),
    ).toEqual(range(2, n + 1));

    const { latestVersion, versions } = await versionsOf(id);
    expect(versions.map((v) => v.number)).toEqual(range(1, n + 1));
    expect(latestVersion).toBe(n + 1);
    expect(versions.slice(1).map((v) => v.baseVersion)).toEqual(range(1, n));
    const final = versions.at(-1)!.definition as { steps: { config: { url: string } }[] };
    expect(final.steps.map((s) => s.config.url)).toEqual(range(0, n - 1).map((i) => `http://127.0.0.1/patched-${i}`));
    expect(new Set(versions.map((v) => v.changeSummary)).size).toBe(n + 1);
  });

  it('lets exactly one of many strict patches on the same base through; the others get CONFLICT and write nothing', async () => {
    const id = await createWorkflow(t, manySteps(2));
    const results = await Promise.all(
      range(1, 8).map((i) =>
        patch({ id, baseVersion: 1, strict: true, definition: { steps: { s0: { name: `n${i}` } } } }),
      ),
    );
    const ok = results.filter((r) => r.__typename === 'WorkflowPayload');
    const conflicts = results.filter((r) => r.__typename !== 'WorkflowPayload');
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(7);
    for (const conflict of conflicts)
      expect(conflict).toMatchObject({
        __typename: 'ConflictError',
        code: 'CONFLICT',
        message: expect.stringMatching(/baseVersion 1 is stale: the latest version is 2/),
      });
    const { latestVersion, versions } = await versionsOf(id);
    expect(versions.map((v) => v.number)).toEqual([1, 2]);
    expect(latestVersion).toBe(2);
  });

  it('serialises every kind of versioning change: patch, update, rollback and release labels', async () => {
    const id = await createWorkflow(t, manySteps(3));
    const UPDATED = { steps: [step('s0'), step('s1'), step('s2'), step('u')] };
    const jobs = [
      ...range(0, 2).map((i) =>
        patch({ id, definition: { steps: { [`s${i}`]: { name: `p${i}` } } } }).then((r) => r.__typename),
      ),
      t
        .gql(Update, { input: { id, name: 'updated', definition: UPDATED, changeSummary: 'put' } })
        .then((r) => r.data!.updateWorkflow.__typename),
      t.gql(Rollback, { input: { id, version: 1 } }).then((r) => r.data!.rollbackWorkflow.__typename),
      t
        .gql(SetLabel, { input: { workflowId: id, label: 'production', version: 1 } })
        .then((r) => r.data!.setReleaseLabel.__typename),
      patch({
        id,
        releaseLabels: ['staging'],
        definition: { steps: { extra: { type: 'wait', config: { seconds: 1 } } } },
      }).then((r) => r.__typename),
      patch({ id, metadata: { touched: true } }).then((r) => r.__typename), // settings only: no version
    ];
    const typenames = await Promise.all(jobs);
    expect(typenames).toEqual([
      'WorkflowPayload',
      'WorkflowPayload',
      'WorkflowPayload',
      'WorkflowPayload',
      'WorkflowPayload',
      'WorkflowPayload',
      'WorkflowPayload',
      'WorkflowPayload',
    ]);
    const { latestVersion, versions } = await versionsOf(id);
    // 1 initial + 3 patches + update + rollback + labelled patch = 7 versions.
    expect(versions.map((v) => v.number)).toEqual(range(1, 7));
    expect(latestVersion).toBe(7);
    const labels = await t.db.prisma.releaseLabel.findMany({
      where: { workflowId: rawId(id) },
      include: { version: true },
      orderBy: { label: 'asc' },
    });
    // 'staging' moved to the version its patch created: the first one with the added step.
    const withExtra = versions.find((v) =>
      (v.definition as { steps: { id: string }[] }).steps.some((s) => s.id === 'extra'),
    )!;
    expect(labels.map((l) => [l.label, l.version.number])).toEqual([
      ['production', 1],
      ['staging', withExtra.number],
    ]);
  });

  it('keeps the histories of different workflows apart', async () => {
    const ids = await Promise.all([createWorkflow(t, manySteps(5)), createWorkflow(t, manySteps(5))]);
    await Promise.all(
      ids.flatMap((id) =>
        range(0, 4).map((i) => patch({ id, definition: { steps: { [`s${i}`]: { name: `x${i}` } } } })),
      ),
    );
    for (const id of ids) {
      const { latestVersion, versions } = await versionsOf(id);
      expect(versions.map((v) => v.number)).toEqual(range(1, 6));
      expect(latestVersion).toBe(6);
    }
  });
});
