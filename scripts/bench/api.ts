// npm run bench:api — the dashboard query, a run page query and `{ __typename }` under load,
// against Weft, against an Apollo Server + Prisma + DataLoader server written the obvious way
// (scripts/bench/api/apollo-server.ts) and against a bare `pg` + `node:http` floor
// (scripts/bench/api/floor-server.ts), on the same PostgreSQL data in the same run.
//
// 1. Seeds through Weft's GraphQL API: 500 workflows (3 tags), 1,000 patches (~1,500 versions),
//    450 runs (which Weft executes), then waits for the runs to finish.
// 2. Checks that the three servers answer both operations with the same JSON.
// 3. Counts SQL statements per request (Weft in this process with query logging on, the same
//    code; Apollo through its Prisma query log; the floor by construction).
// 4. Load: autocannon, BENCH_CONNECTIONS (10) connections, BENCH_SECONDS (8) per operation and
//    server; prints requests/s, p50/p99 and server CPU ms per request (/proc/<pid>/stat).
// 5. Growth: the dashboard's p50 over BENCH_SEQUENTIAL (200) one-at-a-time requests on a page of
//    50 fresh workflows (1 version, 0 runs), then again after their history grew to 1,000
//    versions and 10,000 runs each (bulk SQL: half a million runs through the API would take
//    hours; the reads do not care how rows were written).
// Last line: `api: <ratio>x floor dashboard, <ratio>x floor run page, growth <ratio>x`.
//
// Env: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/weft_bench_api, created
// and dropped), BENCH_CONNECTIONS, BENCH_SECONDS, BENCH_SEQUENTIAL, BENCH_VERSIONS (1000),
// BENCH_RUNS_PER_WORKFLOW (10000).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { buildApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { PERMISSIONS } from '../../src/auth/permissions.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';
import { ensureDefaultWorkspace } from '../../src/workspaces/service.ts';
import { DASHBOARD, RUN_PAGE, TYPENAME } from './api/queries.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/weft_bench_api';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 200);
const VERSIONS = Number(process.env.BENCH_VERSIONS ?? 1000);
const RUNS_PER_WORKFLOW = Number(process.env.BENCH_RUNS_PER_WORKFLOW ?? 10_000);
const dbName = new URL(url).pathname.slice(1);
const adminUrl = Object.assign(new URL(url), { pathname: '/postgres' }).toString();

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(sql);
  await client.end();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A child process that prints "listening <port> [<side port>]" when ready. */
function startChild(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; ports: number[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start:\n${output}`)), 60_000);
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = /listening ([\d ]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, ports: match[1]!.trim().split(' ').map(Number) });
      }
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`)));
  });
}

/** User + system CPU of a process so far, in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  pid: number;
}

async function post(target: Target, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: unknown };
  if (body.errors) throw new Error(`${target.name}: ${JSON.stringify(body.errors)}`);
  return body;
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  cpuPerRequest: number;
}

async function load(target: Target, query: string, variables?: Record<string, unknown>): Promise<LoadResult> {
  const before = cpuMs(target.pid);
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { 'content-type': 'application/json', ...target.headers },
    body: JSON.stringify({ query, variables }),
  });
  const cpu = cpuMs(target.pid) - before;
  if (result.non2xx || result.errors)
    throw new Error(`${target.name}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerRequest: cpu / Math.max(1, result.requests.total),
  };
}

/** p50 in ms of `count` one-at-a-time requests (after a warm-up). */
async function sequentialP50(target: Target, query: string, count: number): Promise<number> {
  for (let i = 0; i < 20; i++) await post(target, query);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await post(target, query);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Aliased mutations answer with a result union each: any typed error stops the seeding. */
function expectPayloads(what: string, body: { data?: unknown }) {
  for (const value of Object.values((body.data ?? {}) as Record<string, { message?: string }>))
    if (value.message) throw new Error(`${what}: ${value.message}`);
  return body;
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main() {
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${dbName}`);
  const db = await openDatabase(
    { kind: 'postgres', url, poolMax: 5, connectTimeoutMs: 10_000 },
    { observeQueries: true },
  );
  await migrate(db);
  const workspaceId = await ensureDefaultWorkspace(db.prisma);
  const { key } = await createApiKey(db.prisma, {
    workspaceId,
    name: 'bench',
    scopes: [...PERMISSIONS],
    role: 'ADMIN',
    createdById: null,
    expiresAt: null,
  });
  const auth = { authorization: `Bearer ${key}` };
  const children: ChildProcess[] = [];
  try {
    const port = await freePort();
    const weftEnv = {
      DATABASE_URL: url,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      WEFT_RATE_LIMIT_PER_MINUTE: '0',
      WEFT_MAX_CONCURRENT_RUNS: '50',
      WEFT_DB_POOL_MAX: '10',
    };
    const weftChild = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...weftEnv },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(weftChild);
    await waitFor('Weft', 60_000, async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok);
    const weft: Target = { name: 'weft', url: `http://127.0.0.1:${port}/graphql`, headers: auth, pid: weftChild.pid! };

    // 1. Seed through the API.
    const seedStarted = performance.now();
    const definition = { steps: [{ id: 'w', type: 'wait', config: { seconds: 0 } }] };
    for (const [i, color] of ['#e11d48', '#2563eb', '#16a34a'].entries())
      await post(weft, `mutation($input: CreateTagInput!) { createTag(input: $input) { __typename } }`, {
        input: { name: `team-${i}`, color },
      });
    const ids: string[] = [];
    const createBatch = async (names: string[]) => {
      const fields = names.map(
        (name, i) =>
          `w${i}: createWorkflow(input: { name: ${JSON.stringify(name)}, status: ACTIVE, tags: ${JSON.stringify([`team-${Number(name.slice(-3)) % 3}`])}, definition: $definition }) { __typename ... on CreateWorkflowPayload { workflow { id } } ... on Error { message } }`,
      );
      const res = (await post(weft, `mutation($definition: JSON!) { ${fields.join('\n')} }`, { definition })) as {
        data: Record<string, { workflow?: { id: string }; message?: string }>;
      };
      for (const value of Object.values(res.data)) {
        if (!value.workflow) throw new Error(`createWorkflow: ${value.message}`);
        ids.push(value.workflow.id);
      }
    };
    for (let i = 0; i < 450; i += 10)
      await createBatch(Array.from({ length: 10 }, (_, j) => `workflow-${String(i + j).padStart(3, '0')}`));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < ids.length; i += 10) {
        const fields = ids
          .slice(i, i + 10)
          .map(
            (id, j) =>
              `p${j}: patchWorkflow(input: { id: ${JSON.stringify(id)}, commitMessage: "round ${round}", definition: { steps: { w: { config: { seconds: ${round + 1} } } } } }) { __typename ... on Error { message } }`,
          );
        expectPayloads('patchWorkflow', await post(weft, `mutation { ${fields.join('\n')} }`));
      }
    }
    let runId = '';
    for (let i = 0; i < ids.length; i += 10) {
      const fields = ids
        .slice(i, i + 10)
        .map(
          (id, j) =>
            `r${j}: runWorkflow(input: { workflowId: ${JSON.stringify(id)} }) { __typename ... on RunPayload { run { id } } ... on Error { message } }`,
        );
      const res = expectPayloads('runWorkflow', await post(weft, `mutation { ${fields.join('\n')} }`)) as {
        data: Record<string, { run?: { id: string } }>;
      };
      runId ||= res.data.r0!.run!.id;
    }
    // The newest 50 workflows: the dashboard's page, fresh (1 version, 0 runs) for the growth baseline.
    const fresh: string[] = [];
    for (let i = 450; i < 500; i += 10)
      await createBatch(Array.from({ length: 10 }, (_, j) => `workflow-${String(i + j).padStart(3, '0')}`));
    fresh.push(...ids.slice(450));
    await waitFor(
      'the seeded runs to finish',
      300_000,
      async () => (await db.prisma.run.count({ where: { status: { in: ['QUEUED', 'RUNNING'] } } })) === 0,
    );
    const counts = {
      workflows: await db.prisma.workflow.count(),
      versions: await db.prisma.workflowVersion.count(),
      runs: await db.prisma.run.count(),
    };
    console.log(
      `seeded through the API in ${fmt((performance.now() - seedStarted) / 1000)} s: ${counts.workflows} workflows, ${counts.versions} versions, ${counts.runs} runs`,
    );
    await db.withSession((s) => s.exec('ANALYZE'));

    // 2. The comparison servers.
    const serverEnv = { DATABASE_URL: url, WORKSPACE_ID: workspaceId };
    const apolloChild = await startChild(['scripts/bench/api/apollo-server.ts'], serverEnv);
    const floorChild = await startChild(['scripts/bench/api/floor-server.ts'], serverEnv);
    children.push(apolloChild.child, floorChild.child);
    const apollo: Target = {
      name: 'apollo',
      url: `http://127.0.0.1:${apolloChild.ports[0]}/`,
      headers: {},
      pid: apolloChild.child.pid!,
    };
    const floor: Target = {
      name: 'floor',
      url: `http://127.0.0.1:${floorChild.ports[0]}/`,
      headers: {},
      pid: floorChild.child.pid!,
    };
    const targets = [weft, apollo, floor];
    const operations = [
      { name: 'dashboard', query: DASHBOARD, variables: undefined },
      { name: 'run page', query: RUN_PAGE, variables: { id: runId } },
      { name: '{ __typename }', query: TYPENAME, variables: undefined },
    ];
    for (const op of operations.slice(0, 2)) {
      const [reference, ...others] = await Promise.all(targets.map((t) => post(t, op.query, op.variables)));
      for (const [i, other] of others.entries()) {
        if (!isDeepStrictEqual(other, reference))
          throw new Error(
            `${op.name}: ${targets[i + 1]!.name} answered differently from weft:\n${JSON.stringify(reference).slice(0, 2000)}\n${JSON.stringify(other).slice(0, 2000)}`,
          );
      }
    }
    console.log('dashboard and run page: the same JSON from weft, apollo and floor');

    // 3. Statements per request.
    const inProcess = buildApp({
      config: loadConfig({
        DATABASE_URL: url,
        NODE_ENV: 'production',
        LOG_LEVEL: 'silent',
        WEFT_RATE_LIMIT_PER_MINUTE: '0',
      }),
      db,
      log: createLogger('silent'),
    });
    const weftStatements = async (query: string, variables?: Record<string, unknown>) => {
      let n = 0;
      const stop = db.onQuery((e) => void (/^(BEGIN|COMMIT|ROLLBACK)/i.test(e.query.trim()) || n++));
      const res = await inProcess.yoga.fetch('http://weft.bench/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ query, variables }),
      });
      await res.text();
      stop();
      return n;
    };
    const apolloStatements = async (query: string, variables?: Record<string, unknown>) => {
      const read = async () => Number(await (await fetch(`http://127.0.0.1:${apolloChild.ports[1]}/`)).text());
      const before = await read();
      await post(apollo, query, variables);
      return (await read()) - before;
    };
    const statements: Record<string, Record<string, number>> = {};
    for (const op of operations) {
      // Warm: the key lookup (cached for WEFT_API_KEY_CACHE_MS) and query plans are not per request.
      await weftStatements(op.query, op.variables);
      statements[op.name] = {
        weft: await weftStatements(op.query, op.variables),
        apollo: await apolloStatements(op.query, op.variables),
        floor: op.query === TYPENAME ? 0 : 1,
      };
    }
    await inProcess.stop().catch(() => {});

    // 4. Load.
    const results: Record<string, Record<string, LoadResult>> = {};
    console.log(
      `\nload: ${CONNECTIONS} connections, ${SECONDS} s per operation and server (2 shared cores: compare ratios within a run)`,
    );
    console.log('operation        server  req/s    p50 ms  p99 ms  CPU ms/req  SQL/req');
    for (const op of operations) {
      results[op.name] = {};
      for (const target of targets) {
        const r = await load(target, op.query, op.variables);
        results[op.name]![target.name] = r;
        console.log(
          `${op.name.padEnd(16)} ${target.name.padEnd(7)} ${fmt(r.rps, 0).padStart(6)}  ${fmt(r.p50).padStart(6)}  ${fmt(r.p99).padStart(6)}  ${fmt(r.cpuPerRequest, 2).padStart(10)}  ${String(statements[op.name]![target.name]).padStart(7)}`,
        );
      }
    }
    const ratio = (op: string, a: string, b: string) => results[op]![a]!.rps / results[op]![b]!.rps;
    console.log(
      `\nweft / apollo req/s: dashboard ${fmt(ratio('dashboard', 'weft', 'apollo'), 2)}x, run page ${fmt(ratio('run page', 'weft', 'apollo'), 2)}x`,
    );
    console.log(
      `weft / floor req/s:  dashboard ${fmt(ratio('dashboard', 'weft', 'floor'), 2)}x, run page ${fmt(ratio('run page', 'weft', 'floor'), 2)}x`,
    );
    const fixed = results['{ __typename }']!.weft!.cpuPerRequest;
    console.log(
      `fixed cost: weft { __typename } ${fmt(fixed, 2)} CPU ms/req = ${fmt(fixed / results.dashboard!.floor!.cpuPerRequest, 2)}x the floor's whole dashboard request`,
    );

    // 5. Growth: the same page before and after its workflows gain their history.
    const light = await sequentialP50(weft, DASHBOARD, SEQUENTIAL);
    const grown = performance.now();
    const rawIds = fresh.map((id) => Buffer.from(id, 'base64').toString().split(':')[1]!);
    await db.withSession(async (s) => {
      await s.query(
        `INSERT INTO "WorkflowVersion" (id, "workspaceId", "workflowId", number, definition, "changeSummary")
         SELECT gen_random_uuid(), $1, w, n, '{"steps":[{"id":"w","type":"wait","config":{"seconds":0}}]}'::jsonb, 'bulk' FROM unnest($2::uuid[]) w, generate_series(2, $3) n`,
        [workspaceId, rawIds, VERSIONS],
      );
      await s.query(`UPDATE "Workflow" SET "latestVersion" = $2 WHERE id = ANY($1::uuid[])`, [rawIds, VERSIONS]);
      // Bulk rows skip the runsCount trigger (one UPDATE of the workflow per run would dominate
      // the insert) and set the counters once afterwards.
      await s.query(`SET session_replication_role = replica`);
      await s.query(
        `INSERT INTO "Run" (id, "workspaceId", "workflowId", definition, status, "createdAt", "updatedAt")
         SELECT gen_random_uuid(), $1, w, '{}'::jsonb, 'COMPLETED', now() - make_interval(secs => n), now() FROM unnest($2::uuid[]) w, generate_series(1, $3) n`,
        [workspaceId, rawIds, RUNS_PER_WORKFLOW],
      );
      await s.query(`SET session_replication_role = DEFAULT`);
      await s.query(
        `UPDATE "Workflow" w SET "runsCount" = (SELECT count(*) FROM "Run" r WHERE r."workflowId" = w.id AND NOT r."isPreview") WHERE id = ANY($1::uuid[])`,
        [rawIds],
      );
      await s.exec('ANALYZE');
    });
    console.log(
      `\ngrew the dashboard's 50 workflows to ${VERSIONS} versions and ${RUNS_PER_WORKFLOW} runs each (bulk SQL) in ${fmt((performance.now() - grown) / 1000)} s`,
    );
    const heavy = await sequentialP50(weft, DASHBOARD, SEQUENTIAL);
    console.log(
      `dashboard p50, one request at a time: ${fmt(light, 2)} ms with 1 version and 0 runs per workflow, ${fmt(heavy, 2)} ms with ${VERSIONS} and ${RUNS_PER_WORKFLOW}`,
    );
    console.log(
      `api: ${fmt(ratio('dashboard', 'weft', 'floor'), 2)}x floor dashboard, ${fmt(ratio('run page', 'weft', 'floor'), 2)}x floor run page, growth ${fmt(heavy / light, 2)}x`,
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await db.close();
    await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
  }
}

await main();
