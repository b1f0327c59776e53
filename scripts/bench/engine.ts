// npm run bench:engine — throughput, dispatch latency and per-step cost of the run engine.
//
// PostgreSQL, one `all` process (this one), graphile-worker dispatch: N runs (default 1,000) of a
// 10-step DAG (a → b1..b4 → c1..c4 → d) whose steps are http_request calls to an HTTP server in
// this process that answers at once (the cheapest real step) and records when each request
// arrived. Measured:
// - saturated: every run queued first, then the engine started; steps/s, and the same number of
//   bare INSERT + UPDATE statements through the same driver (the floor) in the same run;
// - dispatch latency, as a user feels it: from the last dependency's completion (its finishedAt)
//   to the step's request reaching the target — at saturation, and with runs arriving at half the
//   saturated rate (paced);
// - per step: SQL statements and round trips (every query this process sends, BEGIN/COMMIT
//   included, counted on the pg driver), transactions (pg_stat_database), this process's CPU, and
//   PostgreSQL's CPU (every postgres process on this machine, from /proc) — and from those the
//   ceiling a larger database machine would allow;
// - the embedded database (PGlite, in-process dispatch) beside it: steps/s of a smaller batch;
// - optionally (BENCH_TRACED_RUNS > 0) the same batch with tracing on, for its cost.
// The last line is `engine: <steps/s> steps/s, <ratio>x floor, dispatch p50 <ms> ms p99 <ms> ms`
// (saturated throughput, its ratio to the floor, the paced dispatch latency).
//
// Env: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/weft_bench, created and
// dropped), BENCH_RUNS (1000), BENCH_EMBEDDED_RUNS (200), BENCH_PACED_SECONDS (10),
// BENCH_TRACED_RUNS (0), WEFT_MAX_CONCURRENT_RUNS (100), WEFT_WORKER_CONCURRENCY (200).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { migrateJobQueue } from '../../src/engine/dispatch/graphile.ts';
import { createLogger } from '../../src/logger.ts';
import { runWorkflow } from '../../src/runs/service.ts';
import { SYSTEM_ACTOR } from '../../src/scope.ts';
import { createWorkflow } from '../../src/workflows/service.ts';
import { ensureDefaultWorkspace } from '../../src/workspaces/service.ts';
import { postgresCpuMs, transactionCount } from './cost.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const EMBEDDED_RUNS = Number(process.env.BENCH_EMBEDDED_RUNS ?? 200);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const TRACED_RUNS = Number(process.env.BENCH_TRACED_RUNS ?? 0);
const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/weft_bench';
const dbName = new URL(url).pathname.slice(1);
const adminUrl = Object.assign(new URL(url), { pathname: '/postgres' }).toString();
const STEP_IDS = ['a', 'b1', 'b2', 'b3', 'b4', 'c1', 'c2', 'c3', 'c4', 'd'];
const DEPENDS: Record<string, string[]> = {
  a: [],
  b1: ['a'],
  b2: ['a'],
  b3: ['a'],
  b4: ['a'],
  c1: ['b1'],
  c2: ['b2'],
  c3: ['b3'],
  c4: ['b4'],
  d: ['c1', 'c2', 'c3', 'c4'],
};
const STEPS = STEP_IDS.length;

type Scope = Parameters<typeof runWorkflow>[0];

// ---- what a step costs ---------------------------------------------------------------------

/** Every query this process sends through `pg` (Prisma's adapter and graphile-worker both use it). */
const sent = { queries: 0, transactionControl: 0 };
const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  sent.queries++;
  const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
  if (text && /^\s*(BEGIN|COMMIT|ROLLBACK)/i.test(text)) sent.transactionControl++;
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

/** Node CPU time (user + system) of this process, in ms. */
function nodeCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function transactions(db: Database): Promise<number> {
  return transactionCount((sql) => db.prisma.$queryRawUnsafe(sql));
}

interface Cost {
  elapsedS: number;
  nodeCpuMs: number;
  postgresCpuMs: number;
  queries: number;
  transactionControl: number;
  transactions: number;
}

async function measure(db: Database | null, work: () => Promise<void>): Promise<Cost> {
  const before = {
    at: performance.now(),
    node: nodeCpuMs(),
    postgres: postgresCpuMs(),
    ...sent,
    xacts: db ? await transactions(db) : 0,
  };
  await work();
  return {
    elapsedS: (performance.now() - before.at) / 1000,
    nodeCpuMs: nodeCpuMs() - before.node,
    postgresCpuMs: postgresCpuMs() - before.postgres,
    queries: sent.queries - before.queries,
    transactionControl: sent.transactionControl - before.transactionControl,
    transactions: db ? (await transactions(db)) - before.xacts : 0,
  };
}

// ---- the target and the latencies ----------------------------------------------------------

/** When each step's request reached the target, by `${runId}:${stepId}` (first arrival). */
const arrivals = new Map<string, number>();

async function startTarget(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const key = `${query.get('r')}:${query.get('s')}`;
    if (!arrivals.has(key)) arrivals.set(key, Date.now());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/noop`, close: () => server.close() };
}

/** For every step with dependencies: its request's arrival minus its last dependency's finishedAt. */
async function dispatchLatencies(db: Database, runIds: string[]): Promise<number[]> {
  const rows = await db.prisma.stepRun.findMany({
    where: { runId: { in: runIds }, iteration: -1 },
    select: { runId: true, stepId: true, finishedAt: true },
  });
  const finished = new Map(rows.map((r) => [`${r.runId}:${r.stepId}`, r.finishedAt!.getTime()]));
  const result: number[] = [];
  for (const runId of runIds)
    for (const stepId of STEP_IDS) {
      const deps = DEPENDS[stepId]!;
      const arrived = arrivals.get(`${runId}:${stepId}`);
      if (!deps.length || arrived === undefined) continue;
      result.push(arrived - Math.max(...deps.map((d) => finished.get(`${runId}:${d}`)!)));
    }
  return result.sort((a, b) => a - b);
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// ---- running batches -----------------------------------------------------------------------

async function finishedCount(db: Database, runIds: string[]): Promise<number> {
  return db.prisma.run.count({ where: { id: { in: runIds }, status: { in: ['COMPLETED', 'FAILED', 'CANCELLED'] } } });
}

async function waitForRuns(db: Database, runIds: string[], label: string): Promise<void> {
  const started = performance.now();
  const deadline = Date.now() + 15 * 60_000;
  let lastReport = performance.now();
  for (let done = 0; done < runIds.length; ) {
    await new Promise((r) => setTimeout(r, 100));
    done = await finishedCount(db, runIds);
    if (performance.now() - lastReport > 5000) {
      console.log(
        `  ${label}: ${done}/${runIds.length} runs finished (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
      lastReport = performance.now();
    }
    if (Date.now() > deadline) throw new Error(`${label}: not finished in 15 minutes`);
  }
}

/** Queues `count` runs with the engine stopped, then starts it and waits until all finished. */
async function saturated(app: App, scope: Scope, workflowId: string, count: number, db: Database, label: string) {
  console.log(`${label}: queueing ${count} runs of a ${STEPS}-step DAG…`);
  const runIds: string[] = [];
  for (let i = 0; i < count; i++) runIds.push((await runWorkflow(scope, { workflowId, input: {} })).id);
  const cost = await measure(db.kind === 'postgres' ? db : null, async () => {
    await app.engine.start();
    await waitForRuns(db, runIds, label);
  });
  return { runIds, cost };
}

/** Runs arriving at `runsPerSecond` for `seconds` (the engine running): the latency below saturation. */
async function paced(scope: Scope, workflowId: string, db: Database, runsPerSecond: number, seconds: number) {
  const runIds: string[] = [];
  const start = performance.now();
  const total = Math.max(1, Math.round(runsPerSecond * seconds));
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / runsPerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    runIds.push((await runWorkflow(scope, { workflowId, input: {} })).id);
  }
  await waitForRuns(db, runIds, 'paced');
  return runIds;
}

function definitionFor(target: string) {
  return {
    steps: STEP_IDS.map((id) => ({
      id,
      type: 'http_request',
      config: { url: `${target}?r={{ run.id }}&s=${id}` },
      dependsOn: DEPENDS[id]!,
    })),
  };
}

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(sql);
  await client.end();
}

const baseEnv = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  WEFT_DB_POOL_MAX: process.env.WEFT_DB_POOL_MAX ?? '20',
  WEFT_MAX_CONCURRENT_RUNS: process.env.WEFT_MAX_CONCURRENT_RUNS ?? '100',
  WEFT_WORKER_CONCURRENCY: process.env.WEFT_WORKER_CONCURRENCY ?? '200',
  WEFT_ENGINE_POLL_MS: '200',
  WEFT_OUTBOUND_ALLOW: 'loopback',
} as const;

async function setUp(env: Record<string, string>, target: string) {
  const config = loadConfig(env);
  const db = await openDatabase(config.database);
  await migrate(db);
  if (config.database.kind === 'postgres') await migrateJobQueue(config.database.url, createLogger('warn'));
  const workspaceId = await ensureDefaultWorkspace(db.prisma);
  const app = buildApp({ config, db, log: createLogger(config.logLevel) });
  const scope: Scope = {
    prisma: db.prisma,
    workspaceId,
    actor: SYSTEM_ACTOR,
    engine: app.engine,
    bus: app.bus,
    secretsKey: null,
  };
  const workflow = await createWorkflow(scope, { name: 'bench', definition: definitionFor(target), status: 'ACTIVE' });
  return { config, db, app, scope, workflowId: workflow.id };
}

/** The same number of bare INSERT + UPDATE statements through the same driver, 20 connections. */
async function floor(steps: number): Promise<number> {
  const client = new pg.Pool({ connectionString: url, max: 20 });
  await client.query('CREATE TABLE IF NOT EXISTS bench_floor (id int primary key, v int)');
  await client.query('TRUNCATE bench_floor');
  const start = performance.now();
  const perWorker = Math.ceil(steps / 20);
  await Promise.all(
    Array.from({ length: 20 }, async (_, w) => {
      for (let i = w * perWorker; i < Math.min(steps, (w + 1) * perWorker); i++) {
        await client.query('INSERT INTO bench_floor (id, v) VALUES ($1, 0)', [i]);
        await client.query('UPDATE bench_floor SET v = v + 1 WHERE id = $1', [i]);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await client.end();
  return seconds;
}

async function main() {
  if (!process.env.BENCH_DATABASE_URL) {
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin(`CREATE DATABASE "${dbName}"`);
  }
  const target = await startTarget();

  // 1. PostgreSQL, graphile dispatch, saturated.
  const pgSide = await setUp({ ...baseEnv, DATABASE_URL: url }, target.url);
  const sat = await saturated(pgSide.app, pgSide.scope, pgSide.workflowId, RUNS, pgSide.db, 'saturated');
  const notCompleted = await pgSide.db.prisma.run.count({
    where: { id: { in: sat.runIds }, status: { not: 'COMPLETED' } },
  });
  const satLatency = await dispatchLatencies(pgSide.db, sat.runIds);
  const stepsPerSecond = (RUNS * STEPS) / sat.cost.elapsedS;

  // 2. Paced at half that rate: the latency a user feels when the engine is not saturated.
  const pacedRunsPerSecond = stepsPerSecond / 2 / STEPS;
  console.log(`paced: ${pacedRunsPerSecond.toFixed(1)} runs/s for ${PACED_SECONDS} s…`);
  const pacedIds = await paced(pgSide.scope, pgSide.workflowId, pgSide.db, pacedRunsPerSecond, PACED_SECONDS);
  const pacedLatency = await dispatchLatencies(pgSide.db, pacedIds);
  await pgSide.app.engine.stop(5000);

  // 3. Optional: the same batch with tracing on (OTLP/HTTP JSON to a receiver that counts spans).
  let traced: { stepsPerSecond: number; cpuPerStep: number; spans: number } | null = null;
  if (TRACED_RUNS > 0) {
    let spans = 0;
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { scopeSpans: { spans: unknown[] }[] }[];
        };
        for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans += s.spans.length;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const tracedConfig = loadConfig({
      ...baseEnv,
      DATABASE_URL: url,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    const tracedApp = buildApp({ config: tracedConfig, db: pgSide.db, log: createLogger('warn') });
    const batch = await saturated(
      tracedApp,
      { ...pgSide.scope, engine: tracedApp.engine, bus: tracedApp.bus },
      pgSide.workflowId,
      TRACED_RUNS,
      pgSide.db,
      'traced',
    );
    await tracedApp.engine.stop(5000);
    await tracedApp.tracing.shutdown();
    receiver.close();
    traced = {
      stepsPerSecond: (TRACED_RUNS * STEPS) / batch.cost.elapsedS,
      cpuPerStep: batch.cost.nodeCpuMs / (TRACED_RUNS * STEPS),
      spans,
    };
  }
  await pgSide.db.close();

  // 4. The floor, in the same run.
  const floorS = await floor(RUNS * STEPS);

  // 5. The embedded database, in-process dispatch.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'weft-bench-embedded-'));
  const embedded = await setUp({ ...baseEnv, WEFT_DATA_DIR: dataDir }, target.url);
  const emb = await saturated(
    embedded.app,
    embedded.scope,
    embedded.workflowId,
    EMBEDDED_RUNS,
    embedded.db,
    'embedded',
  );
  await embedded.app.engine.stop(5000);
  await embedded.db.close();
  rmSync(dataDir, { recursive: true, force: true });
  target.close();
  if (!process.env.BENCH_DATABASE_URL) await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);

  const totalSteps = RUNS * STEPS;
  const per = (value: number) => value / totalSteps;
  const c = sat.cost;
  const pgCpuPerStep = per(c.postgresCpuMs);
  const nodeCpuPerStep = per(c.nodeCpuMs);
  const ratio = c.elapsedS / floorS;
  const ms = (sorted: number[]) => `${percentile(sorted, 50)} / ${percentile(sorted, 99)} ms`;
  const table: [string, string][] = [
    ['runs (PostgreSQL, graphile dispatch, one process)', `${RUNS} (${notCompleted} not COMPLETED)`],
    ['steps', String(totalSteps)],
    ['wall time, saturated', `${c.elapsedS.toFixed(2)} s`],
    ['steps/s, saturated', stepsPerSecond.toFixed(0)],
    [`bare INSERT+UPDATE ×${totalSteps} (20 conns)`, `${floorS.toFixed(2)} s`],
    ['engine time / floor time', `${ratio.toFixed(2)}×`],
    ['dispatch p50 / p99, saturated', ms(satLatency)],
    [`dispatch p50 / p99, paced at ${(pacedRunsPerSecond * STEPS).toFixed(0)} steps/s`, ms(pacedLatency)],
    ['per step: SQL statements', per(c.queries - c.transactionControl).toFixed(2)],
    ['per step: round trips (statements + BEGIN/COMMIT)', per(c.queries).toFixed(2)],
    ['per step: transactions', per(c.transactions).toFixed(2)],
    ['per step: worker (Node) CPU', `${nodeCpuPerStep.toFixed(3)} ms`],
    ['per step: PostgreSQL CPU', `${pgCpuPerStep.toFixed(3)} ms`],
    [
      `embedded (PGlite, in-process): steps/s over ${EMBEDDED_RUNS} runs`,
      ((EMBEDDED_RUNS * STEPS) / emb.cost.elapsedS).toFixed(0),
    ],
  ];
  if (traced)
    table.push(
      [`tracing on (${TRACED_RUNS} runs, ${traced.spans} spans): steps/s`, traced.stepsPerSecond.toFixed(0)],
      [
        'tracing cost (Node CPU per step, on vs off)',
        `${(((traced.cpuPerStep - nodeCpuPerStep) / nodeCpuPerStep) * 100).toFixed(1)}%`,
      ],
    );
  // The database is the shared resource: its CPU per step bounds a cluster; workers scale out.
  for (const cores of [4, 16, 64]) {
    const ceiling = (cores * 1000) / pgCpuPerStep;
    table.push([
      `projected ceiling, ${cores}-core database`,
      `${ceiling.toFixed(0)} steps/s (needs ≈ ${((ceiling * nodeCpuPerStep) / 1000).toFixed(0)} worker cores)`,
    ]);
  }
  const width = Math.max(...table.map(([k]) => k.length));
  console.log(`\n${table.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}`);
  console.log(
    `engine: ${stepsPerSecond.toFixed(0)} steps/s, ${ratio.toFixed(2)}x floor, dispatch p50 ${percentile(pacedLatency, 50)} ms p99 ${percentile(pacedLatency, 99)} ms`,
  );
}

main().then(
  // The apps' background timers (the embedded scheduler among them) would keep the process alive.
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
