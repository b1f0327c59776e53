// npm run bench:engine — throughput and dispatch latency of the run engine on PostgreSQL.
//
// Runs N runs (default 1,000) of a 10-step DAG (a → b1..b4 → c1..c4 → d) whose steps are
// http_request calls to an in-process HTTP server that answers at once (the cheapest real
// step), with the engine in this process. Prints steps/s, runs/s and the latency from a step's
// last dependency finishing to the step starting (p50/p99), and beside it the time the same
// number of bare INSERT + UPDATE statements take through the same driver (the floor).
// Then the same runs again with tracing on (OTLP/HTTP JSON to a loopback receiver in this
// process, which counts the spans), to show the cost of tracing: steps/s and Node CPU ms per step
// with tracing off (the first pass) and on.
//
// Env: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/weft_bench, created and
// dropped), BENCH_RUNS (1000), BENCH_TRACED_RUNS (BENCH_RUNS), WEFT_MAX_CONCURRENT_RUNS (100),
// WEFT_WORKER_CONCURRENCY (200).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { migrateJobQueue } from '../../src/engine/dispatch/graphile.ts';
import { createLogger } from '../../src/logger.ts';
import { createWorkflow } from '../../src/workflows/service.ts';
import { SYSTEM_ACTOR } from '../../src/scope.ts';
import { runWorkflow } from '../../src/runs/service.ts';
import { ensureDefaultWorkspace } from '../../src/workspaces/service.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const TRACED_RUNS = Number(process.env.BENCH_TRACED_RUNS ?? RUNS);
const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/weft_bench';
const dbName = new URL(url).pathname.slice(1);
const adminUrl = Object.assign(new URL(url), { pathname: '/postgres' }).toString();

const LONE_RUNS = 50;

type Scope = Parameters<typeof runWorkflow>[0];

/** For every step: its start minus the finish of its last dependency (or the run's start). */
async function latencies(
  prisma: import('../../src/db/client.ts').PrismaClient,
  steps: { id: string; dependsOn: string[] }[],
  runIds?: string[],
): Promise<number[]> {
  const where = runIds ? { runId: { in: runIds } } : {};
  const rows = await prisma.stepRun.findMany({
    where,
    select: { runId: true, stepId: true, startedAt: true, finishedAt: true },
  });
  const runs = await prisma.run.findMany({
    where: runIds ? { id: { in: runIds } } : {},
    select: { id: true, startedAt: true },
  });
  const runStart = new Map(runs.map((r) => [r.id, r.startedAt!.getTime()]));
  const byRun = new Map<string, Map<string, { startedAt: number; finishedAt: number }>>();
  for (const r of rows) {
    const m = byRun.get(r.runId) ?? new Map();
    m.set(r.stepId, { startedAt: r.startedAt!.getTime(), finishedAt: r.finishedAt!.getTime() });
    byRun.set(r.runId, m);
  }
  const result: number[] = [];
  for (const [runId, byStep] of byRun) {
    for (const s of steps) {
      const ready = s.dependsOn.length
        ? Math.max(...s.dependsOn.map((d) => byStep.get(d)!.finishedAt))
        : runStart.get(runId)!;
      result.push(byStep.get(s.id)!.startedAt - ready);
    }
  }
  return result.sort((a, b) => a - b);
}

/** Node CPU time (user + system) of this process, in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Queues `count` runs, starts the engine, waits until all of them finished; wall time and CPU. */
async function runBatch(
  app: App,
  scope: Scope,
  workflowId: string,
  count: number,
  db: Database,
): Promise<{ elapsedS: number; cpuMs: number }> {
  const finishedBefore = await db.prisma.run.count({ where: { status: { in: ['COMPLETED', 'FAILED', 'CANCELLED'] } } });
  console.log(`queueing ${count} runs of a 10-step DAG…`);
  for (let i = 0; i < count; i++) await runWorkflow(scope, { workflowId, input: {} });
  const started = performance.now();
  const cpuStart = cpuMs();
  await app.engine.start();
  let done = 0;
  let lastReport = 0;
  const deadline = Date.now() + 15 * 60_000;
  while (done < count) {
    await new Promise((r) => setTimeout(r, 250));
    done =
      (await db.prisma.run.count({ where: { status: { in: ['COMPLETED', 'FAILED', 'CANCELLED'] } } })) - finishedBefore;
    if (performance.now() - lastReport > 5000) {
      console.log(`  ${done}/${count} runs finished (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      lastReport = performance.now();
    }
    if (Date.now() > deadline) throw new Error('benchmark did not finish in 15 minutes');
  }
  return { elapsedS: (performance.now() - started) / 1000, cpuMs: cpuMs() - cpuStart };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(sql);
  await client.end();
}

async function main() {
  const created = !process.env.BENCH_DATABASE_URL;
  if (created) {
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin(`CREATE DATABASE "${dbName}"`);
  }
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/noop`;

  // The OTLP receiver of the tracing-on pass: reads and counts spans as a collector would.
  let spansReceived = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { scopeSpans: { spans: unknown[] }[] }[];
      };
      for (const r of body.resourceSpans) for (const s of r.scopeSpans) spansReceived += s.spans.length;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const baseEnv = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: url,
    WEFT_DB_POOL_MAX: process.env.WEFT_DB_POOL_MAX ?? '20',
    WEFT_MAX_CONCURRENT_RUNS: process.env.WEFT_MAX_CONCURRENT_RUNS ?? '100',
    WEFT_WORKER_CONCURRENCY: process.env.WEFT_WORKER_CONCURRENCY ?? '200',
    WEFT_ENGINE_POLL_MS: '200',
    WEFT_OUTBOUND_ALLOW: 'loopback',
  } as const;
  const config = loadConfig(baseEnv);
  const db = await openDatabase(config.database);
  await migrate(db);
  await migrateJobQueue(url, createLogger('warn'));
  const workspaceId = await ensureDefaultWorkspace(db.prisma);
  const log = createLogger(config.logLevel);
  const app = buildApp({ config, db, log });

  const step = (id: string, dependsOn: string[] = []) => ({
    id,
    type: 'http_request',
    config: { url: target },
    dependsOn,
  });
  const definition = {
    steps: [
      step('a'),
      ...[1, 2, 3, 4].map((i) => step(`b${i}`, ['a'])),
      ...[1, 2, 3, 4].map((i) => step(`c${i}`, [`b${i}`])),
      step('d', ['c1', 'c2', 'c3', 'c4']),
    ],
  };
  const scope = {
    prisma: db.prisma,
    workspaceId,
    actor: SYSTEM_ACTOR,
    engine: app.engine,
    bus: app.bus,
    secretsKey: null,
  };
  const workflow = await createWorkflow(scope, { name: 'bench', definition, status: 'ACTIVE' });

  const untraced = await runBatch(app, scope, workflow.id, RUNS, db);
  const elapsedS = untraced.elapsedS;
  const failed = await db.prisma.run.count({ where: { status: { not: 'COMPLETED' } } });
  const loaded = await latencies(db.prisma, definition.steps);

  // Latency without saturation: runs one after another, so nothing queues for the CPU.
  const lone: string[] = [];
  for (let i = 0; i < LONE_RUNS; i++) {
    const run = await runWorkflow(scope, { workflowId: workflow.id, input: {} });
    lone.push(run.id);
    for (let polls = 0; ; polls++) {
      const { status } = await db.prisma.run.findUniqueOrThrow({ where: { id: run.id }, select: { status: true } });
      if (status === 'COMPLETED' || status === 'FAILED') break;
      if (polls > 2000) throw new Error('single run did not finish');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  const unloaded = await latencies(db.prisma, definition.steps, lone);
  await app.engine.stop(5000);

  // The same batch with tracing on: a second app on the same database, exporting to the receiver.
  const tracedConfig = loadConfig({
    ...baseEnv,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  const tracedApp = buildApp({ config: tracedConfig, db, log });
  const traced = await runBatch(
    tracedApp,
    { ...scope, engine: tracedApp.engine, bus: tracedApp.bus },
    workflow.id,
    TRACED_RUNS,
    db,
  );
  await tracedApp.engine.stop(5000);
  await tracedApp.tracing.shutdown();
  receiver.close();
  const steps = definition.steps.length;
  const perStep = (batch: { cpuMs: number }, runs: number) => batch.cpuMs / (runs * steps);

  // Baseline: the same number of bare INSERT + UPDATE statements through the same driver.
  const statements = RUNS * definition.steps.length;
  const client = new pg.Pool({ connectionString: url, max: 20 });
  await client.query('CREATE TEMP TABLE IF NOT EXISTS bench_floor (id int primary key, v int)').catch(() => undefined);
  await client.query('CREATE TABLE IF NOT EXISTS bench_floor (id int primary key, v int)');
  const floorStart = performance.now();
  const perWorker = Math.ceil(statements / 20);
  await Promise.all(
    Array.from({ length: 20 }, async (_, w) => {
      for (let i = w * perWorker; i < Math.min(statements, (w + 1) * perWorker); i++) {
        await client.query('INSERT INTO bench_floor (id, v) VALUES ($1, 0)', [i]);
        await client.query('UPDATE bench_floor SET v = v + 1 WHERE id = $1', [i]);
      }
    }),
  );
  const floorS = (performance.now() - floorStart) / 1000;
  await client.end();

  const table = [
    ['metric', 'value'],
    ['runs', `${RUNS} (${failed} not COMPLETED)`],
    ['steps', String(RUNS * definition.steps.length)],
    ['wall time', `${elapsedS.toFixed(2)} s`],
    ['steps/s', ((RUNS * definition.steps.length) / elapsedS).toFixed(0)],
    ['runs/s', (RUNS / elapsedS).toFixed(1)],
    ['dependency→start p50 / p99, saturated', `${percentile(loaded, 50)} / ${percentile(loaded, 99)} ms`],
    [
      `dependency→start p50 / p99, ${LONE_RUNS} runs one at a time`,
      `${percentile(unloaded, 50)} / ${percentile(unloaded, 99)} ms`,
    ],
    [
      'tracing off: steps/s, Node CPU per step',
      `${((RUNS * steps) / untraced.elapsedS).toFixed(0)}, ${perStep(untraced, RUNS).toFixed(3)} ms`,
    ],
    [
      `tracing on (${TRACED_RUNS} runs, ${spansReceived} spans exported): steps/s, Node CPU per step`,
      `${((TRACED_RUNS * steps) / traced.elapsedS).toFixed(0)}, ${perStep(traced, TRACED_RUNS).toFixed(3)} ms`,
    ],
    [
      'tracing cost (Node CPU per step, on vs off)',
      `${(((perStep(traced, TRACED_RUNS) - perStep(untraced, RUNS)) / perStep(untraced, RUNS)) * 100).toFixed(1)}%`,
    ],
    [
      `bare INSERT+UPDATE ×${statements} (20 conns)`,
      `${floorS.toFixed(2)} s (${((statements * 2) / floorS).toFixed(0)} stmt/s)`,
    ],
    ['engine time / bare time', `${(elapsedS / floorS).toFixed(1)}×`],
  ];
  const width = Math.max(...table.map((r) => r[0]!.length));
  console.log(`\n${table.map(([k, v]) => `${k!.padEnd(width)}  ${v}`).join('\n')}`);

  await db.close();
  server.close();
  if (created) await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
