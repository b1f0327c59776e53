// Versions through the API: update (PUT), patch by step id, diff, rollback, release labels,
// status, delete, duplicate — and concurrent patches that never lose or duplicate a version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createWorkflow, rawId } from './helpers/runs.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const step = (id: string, url: string, dependsOn?: string[]) => ({ id, type: 'http_request', config: { method: 'GET', url, headers: { a: '1' } }, ...(dependsOn ? { dependsOn } : {}) });
const base = () => ({ steps: [step('fetch', 'http://127.0.0.1/a'), step('notify', 'http://127.0.0.1/n', ['fetch'])] });

const PATCH = `mutation($input: PatchWorkflowInput!) { patchWorkflow(input: $input) {
  __typename ... on WorkflowPayload { workflow { latestVersion metadata currentVersion { number definition changeSummary baseVersion releaseLabels } } }
  ... on Error { code message } ... on ValidationError { problems { path message stepId } } } }`;

async function patch(input: Record<string, unknown>) {
  return ((await t.gql(PATCH, { input })).data as any).patchWorkflow;
}

async function counts() {
  return { workflows: await t.db.prisma.workflow.count(), versions: await t.db.prisma.workflowVersion.count(), labels: await t.db.prisma.releaseLabel.count() };
}

describe('updateWorkflow', () => {
  it('creates a new version only when the definition changes', async () => {
    const id = await createWorkflow(t, base());
    const UPDATE = `mutation($input: UpdateWorkflowInput!) { updateWorkflow(input: $input) { ... on WorkflowPayload { workflow { name latestVersion description currentVersion { changeSummary } } } } }`;
    const same = await t.gql(UPDATE, { input: { id, name: 'renamed', definition: base() } });
    expect((same.data as any).updateWorkflow.workflow).toMatchObject({ name: 'renamed', latestVersion: 1, description: null });
    const changed = { steps: [...base().steps, step('extra', 'http://127.0.0.1/x')] };
    const next = await t.gql(UPDATE, { input: { id, name: 'renamed', definition: changed, changeSummary: 'Added error handling step' } });
    expect((next.data as any).updateWorkflow.workflow).toMatchObject({ latestVersion: 2, currentVersion: { changeSummary: 'Added error handling step' } });
  });
});

describe('patchWorkflow', () => {
  it('merges steps by id: adds, updates (config deep-merged, dependsOn replaced) and removes, dropping dependencies on removed steps', async () => {
    const id = await createWorkflow(t, { steps: [...base().steps, step('audit', 'http://127.0.0.1/audit', ['fetch', 'notify'])] });
    const result = await patch({
      id,
      commitMessage: 'point fetch elsewhere',
      definition: { steps: { fetch: { config: { url: 'http://127.0.0.1/b', headers: { b: '2' } } }, notify: null, audit: { dependsOn: ['fetch', 'notify'] }, added: { type: 'wait', config: { seconds: 1 }, dependsOn: ['fetch'] } } },
    });
    expect(result.__typename).toBe('WorkflowPayload');
    const version = result.workflow.currentVersion;
    expect(version).toMatchObject({ number: 2, changeSummary: 'point fetch elsewhere', baseVersion: 1 });
    const byId = Object.fromEntries(version.definition.steps.map((s: any) => [s.id, s]));
    expect(Object.keys(byId)).toEqual(['fetch', 'audit', 'added']);
    expect(byId.fetch.config).toEqual({ method: 'GET', url: 'http://127.0.0.1/b', headers: { a: '1', b: '2' } });
    expect(byId.audit.dependsOn).toEqual(['fetch']);
  });

  it('applies only the fields present: absent keeps, null clears; metadata keys merge and null removes', async () => {
    const id = await createWorkflow(t, base(), { description: 'keep me', metadata: { team: 'data', owner: 'ann', tier: 1 } });
    const a = await patch({ id, name: 'patched', metadata: { owner: null, tier: 2, region: 'eu' } });
    expect(a.workflow.metadata).toEqual({ team: 'data', tier: 2, region: 'eu' });
    expect(a.workflow.latestVersion).toBe(1); // no definition patch: no new version
    const read = await t.gql(`query($id: ID!) { workflow(id: $id) { name description } }`, { id });
    expect((read.data as any).workflow).toEqual({ name: 'patched', description: 'keep me' });
    await patch({ id, description: null, metadata: null });
    const cleared = await t.gql(`query($id: ID!) { workflow(id: $id) { description metadata } }`, { id });
    expect((cleared.data as any).workflow).toEqual({ description: null, metadata: null });
  });

  it('patches from an older baseVersion, moves release labels, and refuses a stale base with strict', async () => {
    const id = await createWorkflow(t, base());
    await patch({ id, definition: { steps: { fetch: { config: { url: 'http://127.0.0.1/v2' } } } } });
    const fromOne = await patch({ id, baseVersion: 1, releaseLabels: ['staging'], definition: { steps: { notify: { config: { url: 'http://127.0.0.1/n2' } } } } });
    const def = fromOne.workflow.currentVersion.definition;
    expect(fromOne.workflow.currentVersion).toMatchObject({ number: 3, baseVersion: 1, releaseLabels: ['staging'] });
    expect(def.steps[0].config.url).toBe('http://127.0.0.1/a'); // from version 1, not 2
    const stale = await patch({ id, baseVersion: 2, strict: true, definition: { steps: { fetch: { name: 'x' } } } });
    expect(stale).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });

  it('validates the patched definition and writes nothing when invalid', async () => {
    const id = await createWorkflow(t, base());
    const before = await counts();
    const result = await patch({ id, name: '', definition: { steps: { extra: { type: 'teleport', config: {} } } } });
    expect(result.__typename).toBe('ValidationError');
    expect(result.problems.map((p: any) => p.path.join('.'))).toContain('input.name');
    const invalid = await patch({ id, definition: { steps: { extra: { type: 'teleport', config: {} } } } });
    expect(invalid.problems[0]).toMatchObject({ path: ['input', 'definition', 'steps', '2', 'type'], stepId: 'extra' });
    expect(await counts()).toEqual(before);
    const missing = await patch({ id: Buffer.from('Workflow:00000000-0000-7000-8000-000000000000').toString('base64'), name: 'x' });
    expect(missing.code).toBe('NOT_FOUND');
  });

  it('gives concurrent patches consecutive versions, none lost or duplicated', async () => {
    const id = await createWorkflow(t, { steps: Array.from({ length: 8 }, (_, i) => step(`s${i}`, `http://127.0.0.1/${i}`)) });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => patch({ id, definition: { steps: { [`s${i}`]: { config: { url: `http://127.0.0.1/patched-${i}` } } } } })));
    expect(results.every((r) => r.__typename === 'WorkflowPayload')).toBe(true);
    const versions = await t.db.prisma.workflowVersion.findMany({ where: { workflowId: rawId(id) }, orderBy: { number: 'asc' } });
    expect(versions.map((v) => v.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const final = versions.at(-1)!.definition as any;
    expect(final.steps.map((s: any) => s.config.url)).toEqual(Array.from({ length: 8 }, (_, i) => `http://127.0.0.1/patched-${i}`));
  });

  it('lets only one of two concurrent strict patches on the same base through', async () => {
    const id = await createWorkflow(t, base());
    const [a, b] = await Promise.all([1, 2].map((n) => patch({ id, baseVersion: 1, strict: true, definition: { steps: { fetch: { name: `n${n}` } } } })));
    expect([a.__typename, b.__typename].sort()).toEqual(['ConflictError', 'WorkflowPayload']);
  });
});

describe('diff, rollback, labels, status, duplicate, delete', () => {
  it('diffs two versions per step id with RFC 6902 operations', async () => {
    const id = await createWorkflow(t, base());
    await patch({ id, definition: { steps: { first: { type: 'wait', config: { seconds: 1 } }, notify: { config: { url: 'http://127.0.0.1/changed' } } } } });
    const res = await t.gql(`query($id: ID!) { workflow(id: $id) { diff(from: 1, to: 2) { from to summary added removed modified operations } } }`, { id });
    const diff = (res.data as any).workflow.diff;
    expect(diff).toMatchObject({ from: 1, to: 2, summary: 'Added 1 step, modified 1 step', added: ['first'], removed: [], modified: ['notify'] });
    expect(diff.operations).toContainEqual({ op: 'replace', path: '/steps/notify/config/url', value: 'http://127.0.0.1/changed' });
    expect(diff.operations).toContainEqual({ op: 'add', path: '/steps/first', value: { id: 'first', type: 'wait', config: { seconds: 1 } } });
    const bad = await t.gql(`query($id: ID!) { workflow(id: $id) { diff(from: 1, to: 9) { summary } } }`, { id });
    expect(bad.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('rolls back by creating a new version with the old definition, and fetches versions by number or label', async () => {
    const id = await createWorkflow(t, base());
    await patch({ id, definition: { steps: { notify: null } } });
    const rb = await t.gql(`mutation($input: RollbackWorkflowInput!) { rollbackWorkflow(input: $input) { ... on WorkflowPayload { workflow { latestVersion currentVersion { definition changeSummary baseVersion } } } } }`, { input: { id, version: 1 } });
    const wf = (rb.data as any).rollbackWorkflow.workflow;
    expect(wf).toMatchObject({ latestVersion: 3, currentVersion: { definition: base(), changeSummary: 'Rollback to version 1', baseVersion: 1 } });

    const SET = `mutation($input: SetReleaseLabelInput!) { setReleaseLabel(input: $input) { ... on WorkflowPayload { workflow { releaseLabels { label version { number } } } } ... on ValidationError { problems { path } } } }`;
    await t.gql(SET, { input: { workflowId: id, label: 'production', version: 2 } });
    const moved = await t.gql(SET, { input: { workflowId: id, label: 'production', version: 1 } });
    expect((moved.data as any).setReleaseLabel.workflow.releaseLabels).toEqual([{ label: 'production', version: { number: 1 } }]);
    const badLabel = await t.gql(SET, { input: { workflowId: id, label: 'Prod!', version: 1 } });
    expect((badLabel.data as any).setReleaseLabel.problems[0].path).toEqual(['input', 'label']);
    const read = await t.gql(`query($id: ID!) { workflow(id: $id) { byLabel: version(label: "production") { number } byNumber: version(number: 2) { number } none: version(number: 99) { number } } }`, { id });
    expect((read.data as any).workflow).toEqual({ byLabel: { number: 1 }, byNumber: { number: 2 }, none: null });
    const versions = await t.gql(`query($id: ID!) { workflow(id: $id) { versions(first: 2) { totalCount edges { node { number } } } } }`, { id });
    expect((versions.data as any).workflow.versions).toEqual({ totalCount: 3, edges: [{ node: { number: 3 } }, { node: { number: 2 } }] });
  });

  it('sets status, duplicates with tags and settings, and deletes', async () => {
    const id = await createWorkflow(t, base(), { tags: ['etl', 'nightly'], maxConcurrentRuns: 3, description: 'orig' });
    const status = await t.gql(`mutation($input: SetWorkflowStatusInput!) { setWorkflowStatus(input: $input) { ... on WorkflowPayload { workflow { status } } } }`, { input: { id, status: 'ARCHIVED' } });
    expect((status.data as any).setWorkflowStatus.workflow.status).toBe('ARCHIVED');
    const dup = await t.gql(`mutation($input: DuplicateWorkflowInput!) { duplicateWorkflow(input: $input) { ... on WorkflowPayload { workflow { id name description latestVersion maxConcurrentRuns definition } } } }`, { input: { id } });
    const copy = (dup.data as any).duplicateWorkflow.workflow;
    expect(copy).toMatchObject({ description: 'orig', latestVersion: 1, maxConcurrentRuns: 3, definition: base() });
    expect(copy.name).toMatch(/ \(copy\)$/);
    expect(await t.db.prisma.workflowTag.count({ where: { workflowId: rawId(copy.id) } })).toBe(2);
    const del = await t.gql(`mutation($input: WorkflowIdInput!) { deleteWorkflow(input: $input) { ... on DeleteWorkflowPayload { deletedWorkflowId } ... on Error { code } } }`, { input: { id } });
    expect((del.data as any).deleteWorkflow.deletedWorkflowId).toBe(id);
    const again = await t.gql(`mutation($input: WorkflowIdInput!) { deleteWorkflow(input: $input) { ... on Error { code } } }`, { input: { id } });
    expect((again.data as any).deleteWorkflow.code).toBe('NOT_FOUND');
  });

  it('filters the workflows connection by tag', async () => {
    await createWorkflow(t, base(), { tags: ['billing'] });
    const res = await t.gql(`{ workflows(first: 50, filter: { tag: "billing" }) { totalCount } }`);
    expect((res.data as any).workflows.totalCount).toBe(1);
  });
});
