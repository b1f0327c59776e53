// N+1: listing workflows with tags, currentVersion, runsCount, lastRunStatus and their first
// five versions costs the same, small number of SQL statements for 10 workflows as for 100.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  const prisma = t.db.prisma;
  const workspaceId = t.workspaceId;
  const tags = await Promise.all(['a', 'b', 'c'].map((name) => prisma.tag.create({ data: { workspaceId, name } })));
  for (let i = 0; i < 100; i++) {
    const wf = await prisma.workflow.create({ data: { workspaceId, name: `wf-${String(i).padStart(3, '0')}`, latestVersion: 3 } });
    const definition = { steps: [{ id: 'w', type: 'wait', config: { seconds: i } }] };
    await prisma.workflowVersion.createMany({ data: [1, 2, 3].map((number) => ({ workspaceId, workflowId: wf.id, number, definition })) });
    await prisma.workflowTag.createMany({ data: tags.slice(0, 1 + (i % 3)).map((tag) => ({ workspaceId, workflowId: wf.id, tagId: tag.id })) });
    if (i % 2 === 0) await prisma.run.create({ data: { workspaceId, workflowId: wf.id, definition, status: 'COMPLETED' } });
  }
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const LIST = `query($first: Int!) { workflows(first: $first, orderBy: { field: NAME, direction: ASC }) {
  totalCount
  edges { node { id name tags { name group { name } } currentVersion { number } runsCount lastRunStatus lastRunAt
    versions(first: 5) { totalCount edges { node { number changeSummary } } } } } } }`;

async function statementsFor(first: number) {
  const statements: string[] = [];
  const stop = t.db.onQuery((e) => statements.push(e.query));
  const res = await t.gql(LIST, { first });
  stop();
  expect(res.errors).toBeUndefined();
  const edges = (res.data as any).workflows.edges;
  expect(edges).toHaveLength(first);
  expect(edges[0].node).toMatchObject({ name: 'wf-000', currentVersion: { number: 3 }, runsCount: 1, lastRunStatus: 'COMPLETED', versions: { totalCount: 3 } });
  expect(edges[1].node.runsCount).toBe(0);
  expect(edges[2].node.tags.map((x: any) => x.name)).toEqual(['a', 'b', 'c']);
  // Authentication's key lookup (and its once-a-minute lastUsedAt write) is per request, not per row.
  return statements.filter((s) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(s.trim()) && !s.includes('"ApiKey"'));
}

it('issues the same small number of statements for 10 and for 100 workflows', async () => {
  const ten = await statementsFor(10);
  const hundred = await statementsFor(100);
  expect(ten.length).toBeGreaterThan(0);
  expect(hundred.length).toBe(ten.length);
  expect(ten.length).toBeLessThanOrEqual(12);
});
