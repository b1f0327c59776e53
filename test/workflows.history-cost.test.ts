// The history dimension of the list page's cost: a page of workflows with 1,000 versions and
// 1,000 runs each issues the same statements as a page of workflows with one of each, and reads
// a number of rows bounded by the page (not by the history). Rows read are counted by running
// each captured statement again under EXPLAIN ANALYZE and adding up what its scans returned or
// filtered out, so a plan that walks a whole history shows up even when few rows come back.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

const PAGE = 10;
const HISTORY = 1_000;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  const prisma = t.db.prisma;
  const workspaceId = t.workspaceId;
  const tag = await prisma.tag.create({ data: { workspaceId, name: 'dashboard' } });
  for (const [kind, history] of [
    ['light', 1],
    ['heavy', HISTORY],
  ] as const) {
    for (let i = 0; i < PAGE; i++) {
      const wf = await prisma.workflow.create({
        data: { workspaceId, name: `${kind}-${String(i).padStart(2, '0')}`, latestVersion: history },
      });
      const definition = { steps: [{ id: 'w', type: 'wait', config: { seconds: i } }] };
      await prisma.workflowVersion.createMany({
        data: Array.from({ length: history }, (_, n) => ({
          workspaceId,
          workflowId: wf.id,
          number: n + 1,
          definition,
          changeSummary: `v${n + 1}`,
        })),
      });
      await prisma.workflowTag.create({ data: { workspaceId, workflowId: wf.id, tagId: tag.id } });
      const base = Date.UTC(2026, 0, 1);
      await prisma.run.createMany({
        data: Array.from({ length: history }, (_, n) => ({
          workspaceId,
          workflowId: wf.id,
          definition,
          status: n === history - 1 ? ('FAILED' as const) : ('COMPLETED' as const),
          createdAt: new Date(base + n * 1000),
        })),
      });
    }
  }
  // Planner statistics, as autovacuum would have them on a live database: without them the planner
  // may scan small tables sequentially whatever the indexes.
  await t.db.withSession((s) => s.exec('ANALYZE'));
}, 300_000);
afterAll(async () => {
  await t?.close();
});

const LIST = graphql(`
  query HistoryCostList($search: String!, $first: Int!) {
    workflows(first: $first, filter: { search: $search }, orderBy: { field: NAME, direction: ASC }) {
      totalCount
      edges {
        node {
          id
          name
          status
          tags {
            name
            color
          }
          currentVersion {
            number
          }
          runsCount
          lastRunStatus
          lastRunAt
          versions(first: 5) {
            totalCount
            edges {
              node {
                number
                changeSummary
              }
            }
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

interface Captured {
  query: string;
  params: string;
}

/** Rows the statement's scans produced or discarded (EXPLAIN ANALYZE), summed over the plan and its loops. */
async function rowsRead(statement: Captured): Promise<number> {
  const params = JSON.parse(statement.params) as unknown[];
  const [row] = await t.db.withSession((s) =>
    s.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.query}`, params),
  );
  const raw = row!['QUERY PLAN'];
  const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
  return scanned(plan[0]!.Plan);
}

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

function scanned(node: PlanNode): number {
  const own = /Scan/.test(node['Node Type'])
    ? ((node['Actual Rows'] ?? 0) +
        (node['Rows Removed by Filter'] ?? 0) +
        (node['Rows Removed by Index Recheck'] ?? 0)) *
      (node['Actual Loops'] ?? 1)
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + scanned(child), 0);
}

async function pageCost(kind: 'light' | 'heavy') {
  const statements: Captured[] = [];
  const stop = t.db.onQuery((e) => statements.push({ query: e.query, params: e.params }));
  const res = await t.gql(LIST, { search: `${kind}-`, first: PAGE });
  stop();
  expect(res.errors).toBeUndefined();
  const edges = res.data!.workflows.edges;
  expect(edges).toHaveLength(PAGE);
  const history = kind === 'light' ? 1 : HISTORY;
  for (const { node } of edges) {
    expect(node).toMatchObject({
      currentVersion: { number: history },
      runsCount: history,
      lastRunStatus: 'FAILED',
      tags: [{ name: 'dashboard' }],
      versions: { totalCount: history },
    });
    expect(node.lastRunAt).toBe(new Date(Date.UTC(2026, 0, 1) + (history - 1) * 1000).toISOString());
    expect(node.versions.edges.map((e) => e.node.number)).toEqual(
      Array.from({ length: Math.min(5, history) }, (_, n) => history - n),
    );
  }
  // Authentication's key lookup is per request, not per row, and not part of the page.
  const data = statements.filter(
    (s) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(s.query.trim()) && !s.query.includes('"ApiKey"'),
  );
  let rows = 0;
  for (const statement of data) {
    const read = await rowsRead(statement);
    if (process.env.DEBUG_ROWS) console.log(kind, read, statement.query);
    rows += read;
  }
  return { statements: data.map((s) => s.query), rows };
}

it('reads the same statements and a bounded number of rows with 1 and with 1,000 versions and runs per workflow', async () => {
  const light = await pageCost('light');
  const heavy = await pageCost('heavy');
  // Sorted: on PostgreSQL the batched loads run concurrently and may be logged in any order.
  expect([...heavy.statements].sort()).toEqual([...light.statements].sort());
  expect(light.statements.length).toBeLessThanOrEqual(12);
  // The heavy page shows 5 versions per workflow where the light one has 1 (a bitmap scan counts
  // them in its index and heap nodes, so up to 2 × 4 more rows each), and the last-run walk may
  // step over a few more index entries: that is all the extra reading allowed, nothing per row of history.
  expect(heavy.rows).toBeLessThanOrEqual(light.rows + PAGE * 15);
  expect(heavy.rows).toBeLessThan((PAGE * HISTORY) / 10);
});

it('pages through a long history by version number, both ways, and refuses cursors it did not give', async () => {
  const PAGE_QUERY = graphql(`
    query HistoryCostVersionsPage($search: String!, $first: Int, $last: Int, $after: String, $before: String) {
      workflows(first: 1, filter: { search: $search }) {
        edges {
          node {
            versions(first: $first, last: $last, after: $after, before: $before) {
              totalCount
              edges {
                cursor
                node {
                  number
                }
              }
              pageInfo {
                hasNextPage
                hasPreviousPage
              }
            }
          }
        }
      }
    }
  `);
  const query = (vars: { first?: number; last?: number; after?: string; before?: string }) =>
    t.gql(PAGE_QUERY, { search: 'heavy-00', ...vars });
  const page = async (vars: Parameters<typeof query>[0]) => {
    const res = await query(vars);
    expect(res.errors).toBeUndefined();
    return res.data!.workflows.edges[0]!.node.versions;
  };
  const first = await page({ first: 3 });
  expect(first.edges.map((e) => e.node.number)).toEqual([1000, 999, 998]);
  expect(first.pageInfo.hasNextPage).toBe(true);
  const next = await page({ first: 3, after: first.edges[2]!.cursor });
  expect(next.edges.map((e) => e.node.number)).toEqual([997, 996, 995]);
  const oldest = await page({ last: 2 });
  expect(oldest.edges.map((e) => e.node.number)).toEqual([2, 1]);
  expect(oldest.pageInfo.hasPreviousPage).toBe(true);
  const before = await page({ last: 2, before: next.edges[0]!.cursor });
  expect(before.edges.map((e) => e.node.number)).toEqual([999, 998]);
  expect(before.totalCount).toBe(HISTORY);
  const bad = await query({ first: 2, after: 'not-a-cursor' });
  expect(bad.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
});
