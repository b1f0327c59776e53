// N+1: listing workflows with tags, currentVersion, runsCount, lastRunStatus and their first
// five versions costs the same, small set of SQL statements for 10 workflows as for 100, and for
// workflows with one version as for workflows with twenty. The statements are snapshotted
// (normalised, sorted) in __snapshots__/workflows.n-plus-one.sql, so a new or changed query shows as a diff.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  const prisma = t.db.prisma;
  const workspaceId = t.workspaceId;
  const tags = await Promise.all(['a', 'b', 'c'].map((name) => prisma.tag.create({ data: { workspaceId, name } })));
  const seed = async (name: string, versions: number, i: number) => {
    const wf = await prisma.workflow.create({ data: { workspaceId, name, latestVersion: versions } });
    const definition = { steps: [{ id: 'w', type: 'wait', config: { seconds: i } }] };
    await prisma.workflowVersion.createMany({
      data: Array.from({ length: versions }, (_, n) => ({ workspaceId, workflowId: wf.id, number: n + 1, definition })),
    });
    await prisma.workflowTag.createMany({
      data: tags.slice(0, 1 + (i % 3)).map((tag) => ({ workspaceId, workflowId: wf.id, tagId: tag.id })),
    });
    if (i % 2 === 0)
      await prisma.run.create({ data: { workspaceId, workflowId: wf.id, definition, status: 'COMPLETED' } });
  };
  for (let i = 0; i < 100; i++) await seed(`wf-${String(i).padStart(3, '0')}`, 3, i);
  // The history dimension: a long version history must not cost more statements than a short one.
  for (let i = 0; i < 10; i++) await seed(`one-${i}`, 1, i);
  for (let i = 0; i < 10; i++) await seed(`many-${i}`, 20, i);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const LIST =
  graphql(`query NPlusOneWorkflows($first: Int!, $search: String!) { workflows(first: $first, filter: { search: $search }, orderBy: { field: NAME, direction: ASC }) {
  totalCount
  edges { node { id name tags { name group { name } } currentVersion { number } runsCount lastRunStatus lastRunAt
    versions(first: 5) { totalCount edges { node { number changeSummary } } } } } } }`);

/**
 * Stable across data sizes: parameter numbers, the length of `IN (…)` lists and of repeated
 * `(id = … AND workspaceId = …) OR …` lookups depend on how many rows came before, so they are
 * folded; the schema prefix is dropped to keep the snapshot readable.
 */
function normalise(sql: string): string {
  return sql
    .replace(/"public"\./g, '')
    .replace(/\$\d+(\s*,\s*\$\d+)*/g, '$?')
    .replace(/(\([^()]*\))(?: OR \1)+/g, '$1 OR …')
    .replace(/\s+/g, ' ')
    .trim();
}

async function statementsFor(search: string, first: number, versions: number) {
  const statements: string[] = [];
  const stop = t.db.onQuery((e) => statements.push(e.query));
  const res = await t.gql(LIST, { first, search });
  stop();
  expect(res.errors).toBeUndefined();
  const edges = res.data!.workflows.edges;
  expect(edges).toHaveLength(first);
  expect(edges[0]!.node).toMatchObject({
    currentVersion: { number: versions },
    runsCount: 1,
    lastRunStatus: 'COMPLETED',
    versions: { totalCount: versions },
  });
  expect(edges[0]!.node.versions.edges).toHaveLength(Math.min(5, versions));
  expect(edges[1]!.node.runsCount).toBe(0);
  expect(edges[2]!.node.tags.map((x) => x.name)).toEqual(['a', 'b', 'c']);
  // Authentication's key lookup (and its once-a-minute lastUsedAt write) is per request, not per row.
  // Sorted: on a PostgreSQL pool the batched loads run concurrently, in no fixed order.
  return statements
    .filter((s) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(s.trim()) && !s.includes('"ApiKey"'))
    .map(normalise)
    .sort();
}

it('issues the same few statements for 10 and for 100 workflows, and for 1 and for 20 versions each', async () => {
  const ten = await statementsFor('wf-', 10, 3);
  expect(ten.length).toBeGreaterThan(0);
  expect(ten.length).toBeLessThanOrEqual(12);
  expect(await statementsFor('wf-', 100, 3)).toEqual(ten);
  expect(await statementsFor('one-', 10, 1)).toEqual(ten);
  expect(await statementsFor('many-', 10, 20)).toEqual(ten);
  await expect(`${ten.join(';\n\n')};\n`).toMatchFileSnapshot('__snapshots__/workflows.n-plus-one.sql');
});
