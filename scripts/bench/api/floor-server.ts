// The floor of bench:api: bare `pg` behind `node:http`, one hand-written SQL statement per
// operation, answering with the same JSON as Weft. No GraphQL, no auth, no ORM: what the
// database and the HTTP stack alone cost. Prints "listening <port>" and counts its statements.
import { createServer } from 'node:http';
import pg from 'pg';
import { globalId, parseGlobalId } from './queries.ts';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const workspaceId = process.env.WORKSPACE_ID!;
let statements = 0;

const DASHBOARD_SQL = `
SELECT w.id, w.name, w.status, v.number, w."runsCount", r.status AS "lastRunStatus", r."createdAt" AS "lastRunAt",
  (SELECT count(*)::int FROM "Workflow" WHERE "workspaceId" = $1) AS "totalCount",
  COALESCE((SELECT json_agg(json_build_object('name', t.name, 'color', t.color) ORDER BY t."order", t.name)
            FROM "WorkflowTag" wt JOIN "Tag" t ON t.id = wt."tagId" WHERE wt."workflowId" = w.id), '[]') AS tags
FROM "Workflow" w
JOIN "WorkflowVersion" v ON v."workflowId" = w.id AND v.number = w."latestVersion"
LEFT JOIN LATERAL (SELECT status, "createdAt" FROM "Run" WHERE "workflowId" = w.id AND NOT "isPreview" ORDER BY "createdAt" DESC, id DESC LIMIT 1) r ON true
WHERE w."workspaceId" = $1
ORDER BY w."createdAt" DESC, w.id DESC
LIMIT 51`;

async function dashboard() {
  statements++;
  const { rows } = await pool.query(DASHBOARD_SQL, [workspaceId]);
  const page = rows.slice(0, 50);
  return {
    data: {
      workflows: {
        totalCount: rows[0]?.totalCount ?? 0,
        edges: page.map((w) => ({
          node: {
            id: globalId('Workflow', w.id),
            name: w.name,
            status: w.status,
            tags: w.tags,
            currentVersion: { number: w.number },
            runsCount: w.runsCount,
            lastRunStatus: w.lastRunStatus,
            lastRunAt: w.lastRunAt?.toISOString() ?? null,
          },
        })),
        pageInfo: { hasNextPage: rows.length > 50, hasPreviousPage: false },
      },
    },
  };
}

const RUN_SQL = `
SELECT r.id, r.status, r."createdAt", r."startedAt", r."finishedAt", w.id AS "workflowId", w.name AS "workflowName",
  COALESCE((SELECT json_agg(json_build_object('stepId', s."stepId", 'type', s.type, 'status', s.status, 'attempt', s.attempt) ORDER BY s."createdAt", s.id)
            FROM "StepRun" s WHERE s."runId" = r.id AND s.iteration = -1), '[]') AS steps,
  COALESCE((SELECT json_agg(json_build_object('seq', e.seq, 'type', e.type, 'stepId', e."stepId") ORDER BY e.seq)
            FROM (SELECT seq, type, "stepId" FROM "RunEvent" WHERE "runId" = r.id ORDER BY seq DESC LIMIT 50) e), '[]') AS events
FROM "Run" r LEFT JOIN "Workflow" w ON w.id = r."workflowId"
WHERE r.id = $1 AND r."workspaceId" = $2`;

const iso = (d: Date | null) => d?.toISOString() ?? null;

async function runPage(id: string) {
  statements++;
  const { rows } = await pool.query(RUN_SQL, [parseGlobalId(id, 'Run'), workspaceId]);
  const r = rows[0];
  if (!r) return { data: { run: null } };
  return {
    data: {
      run: {
        id: globalId('Run', r.id),
        status: r.status,
        createdAt: iso(r.createdAt),
        startedAt: iso(r.startedAt),
        finishedAt: iso(r.finishedAt),
        workflow: r.workflowId ? { id: globalId('Workflow', r.workflowId), name: r.workflowName } : null,
        stepRuns: r.steps,
        events: { edges: r.events.map((node: unknown) => ({ node })) },
      },
    },
  };
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
        query: string;
        variables?: { id?: string };
      };
      const result = body.query.includes('Dashboard')
        ? await dashboard()
        : body.query.includes('RunPage')
          ? await runPage(body.variables!.id!)
          : { data: { __typename: 'Query' } };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
});
// Statement counts come over a side port, like the Apollo server's.
const side = createServer((_req, res) => res.end(String(statements)));
side.listen(0, '127.0.0.1', () =>
  server.listen(0, '127.0.0.1', () =>
    console.log(
      `listening ${(server.address() as { port: number }).port} ${(side.address() as { port: number }).port}`,
    ),
  ),
);
