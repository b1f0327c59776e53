// npm run bench:scale — steps/s with 1, 2 and 4 `weft worker` processes on PostgreSQL
// (graphile-worker dispatch), against graphile-worker's own bare throughput as the ceiling.
//
// 1. Ceiling: N no-op graphile jobs (one job per step, which is what Weft adds per step) run by
//    one graphile-worker runner in this process with the same concurrency a Weft worker uses.
// 2. For each worker count: BENCH_RUNS runs of the engine benchmark's no-op DAG (10
//    http_request steps, a → b1..b4 → c1..c4 → d, against an in-process HTTP server that
//    answers at once) are queued first, then the worker processes start; steps/s is measured
//    from the first run's start to the last step's finish (database timestamps), so process
//    start-up is not counted.
//
// 3. Per step, for each worker count: the workers' CPU, PostgreSQL's CPU (every postgres process on
//    this machine) and transactions — on 2 cores more workers can only contend, so the database's
//    cost per step is what decides the ceiling of a larger cluster; the last line projects it.
//
// Env: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/weft_bench_scale,
// created and dropped), BENCH_RUNS (300), BENCH_WORKERS ("1,2,4"), WEFT_WORKER_CONCURRENCY (50),
// WEFT_MAX_CONCURRENT_RUNS (100).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { Logger, run } from 'graphile-worker';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createMemoryEventBus } from '../../src/events/log.ts';
import { migrateJobQueue } from '../../src/engine/dispatch/graphile.ts';
import { createLogger } from '../../src/logger.ts';
import { SYSTEM_ACTOR } from '../../src/scope.ts';
import { runWorkflow } from '../../src/runs/service.ts';
import { createWorkflow } from '../../src/workflows/service.ts';
import { ensureDefaultWorkspace } from '../../src/workspaces/service.ts';
import { postgresCpuMs, processCpuMs, transactionCount } from './cost.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 300);
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const CONCURRENCY = process.env.WEFT_WORKER_CONCURRENCY ?? '50';
const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/weft_bench_scale';
const dbName = new URL(url).pathname.slice(1);
const adminUrl = Object.assign(new URL(url), { pathname: '/postgres' }).toString();
const STEPS_PER_RUN = 10;

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(sql);
  await client.end();
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** graphile-worker alone: jobs/s for `count` no-op jobs, one runner, Weft's concurrency. */
async function graphileCeiling(count: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', (error) => console.error('bench pool error:', error.message));
  await pool.query(`SELECT graphile_worker.add_job('bench_noop', '{}'::json) FROM generate_series(1, $1)`, [count]);
  let done = 0;
  const started = performance.now();
  const runner = await run({
    pgPool: pool,
    concurrency: Number(CONCURRENCY),
    noHandleSignals: true,
    pollInterval: 200,
    logger: new Logger(() => () => {}),
    taskList: { bench_noop: async () => void done++ },
  });
  await waitFor('the bare jobs', 10 * 60_000, async () => done >= count);
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  await pool.end();
  return count / seconds;
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 60_000);
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Weft worker is running')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${output}`)));
  });
}

async function main() {
  const created = !process.env.BENCH_DATABASE_URL;
  if (created) {
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin(`CREATE DATABASE "${dbName}"`);
  }
  const log = createLogger('warn');
  const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'warn', DATABASE_URL: url, WEFT_DB_POOL_MAX: '5' });
  const db = await openDatabase(config.database);
  await migrate(db);
  await migrateJobQueue(url, log);
  const workspaceId = await ensureDefaultWorkspace(db.prisma);

  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/noop`;
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
  // Runs are only queued here: the engine handle does nothing, the workers start them.
  const idle = { notify() {}, abortRun() {}, advance: async () => undefined };
  const scope = {
    prisma: db.prisma,
    workspaceId,
    actor: SYSTEM_ACTOR,
    engine: idle,
    bus: createMemoryEventBus(),
    secretsKey: null,
  };

  console.log(`graphile-worker ceiling: ${RUNS * STEPS_PER_RUN} no-op jobs…`);
  const ceiling = await graphileCeiling(RUNS * STEPS_PER_RUN);

  const env = {
    DATABASE_URL: url,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    PORT: '0',
    WEFT_OUTBOUND_ALLOW: 'loopback',
    WEFT_WORKER_CONCURRENCY: CONCURRENCY,
    WEFT_MAX_CONCURRENT_RUNS: process.env.WEFT_MAX_CONCURRENT_RUNS ?? '100',
    WEFT_ENGINE_POLL_MS: '200',
  };
  const results: {
    workers: number;
    stepsPerSecond: number;
    seconds: number;
    workerCpuMs: number;
    postgresCpuMs: number;
    transactions: number;
  }[] = [];
  const transactions = () => transactionCount((sql) => db.prisma.$queryRawUnsafe(sql));
  for (const workers of WORKER_COUNTS) {
    const workflow = await createWorkflow(scope, { name: `bench-${workers}`, definition, status: 'ACTIVE' });
    console.log(`${workers} worker(s): queueing ${RUNS} runs of a ${STEPS_PER_RUN}-step DAG…`);
    for (let i = 0; i < RUNS; i++) await runWorkflow(scope, { workflowId: workflow.id, input: {} });
    const children = await Promise.all(Array.from({ length: workers }, () => startWorker(env)));
    // Start-up is over (the runs were queued before): from here on the cost is the work's.
    const before = {
      workers: children.map((child) => processCpuMs(child.pid!)),
      postgres: postgresCpuMs(),
      transactions: await transactions(),
    };
    const finished = () =>
      db.prisma.run.count({ where: { workflowId: workflow.id, status: { in: ['COMPLETED', 'FAILED', 'CANCELLED'] } } });
    await waitFor(`${workers} worker(s) to finish`, 15 * 60_000, async () => (await finished()) >= RUNS);
    const [span] = await db.prisma.$queryRaw<{ seconds: number; failed: bigint }[]>`
      SELECT EXTRACT(EPOCH FROM (max(s."finishedAt") - min(r."startedAt")))::float8 AS seconds,
             (SELECT count(*) FROM "Run" WHERE "workflowId" = ${workflow.id}::uuid AND status <> 'COMPLETED') AS failed
      FROM "Run" r JOIN "StepRun" s ON s."runId" = r.id WHERE r."workflowId" = ${workflow.id}::uuid`;
    if (Number(span!.failed) > 0) throw new Error(`${span!.failed} runs did not complete`);
    results.push({
      workers,
      seconds: span!.seconds,
      stepsPerSecond: (RUNS * STEPS_PER_RUN) / span!.seconds,
      workerCpuMs: children.reduce((sum, child, i) => sum + processCpuMs(child.pid!) - before.workers[i]!, 0),
      postgresCpuMs: postgresCpuMs() - before.postgres,
      transactions: (await transactions()) - before.transactions,
    });
    await Promise.all(
      children.map((child) => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')))),
    );
  }

  const single = results.find((r) => r.workers === 1)?.stepsPerSecond ?? results[0]!.stepsPerSecond;
  const steps = RUNS * STEPS_PER_RUN;
  const rows = [
    ['topology', 'steps/s', 'vs 1 worker', 'vs ceiling', 'worker CPU/step', 'PG CPU/step', 'xacts/step'],
    [
      `graphile-worker bare no-op jobs (1 runner, concurrency ${CONCURRENCY})`,
      ceiling.toFixed(0),
      '',
      '1.00',
      '',
      '',
      '',
    ],
    ...results.map((r) => [
      `weft worker ×${r.workers} (${steps} steps in ${r.seconds.toFixed(1)} s)`,
      r.stepsPerSecond.toFixed(0),
      `${(r.stepsPerSecond / single).toFixed(2)}×`,
      (r.stepsPerSecond / ceiling).toFixed(2),
      `${(r.workerCpuMs / steps).toFixed(2)} ms`,
      `${(r.postgresCpuMs / steps).toFixed(2)} ms`,
      (r.transactions / steps).toFixed(2),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(
    `\n${rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n')}`,
  );

  // A larger cluster is bounded by its database: the lowest PostgreSQL CPU per step measured
  // (the least contended run) over a 16-core database, with as many worker cores as that needs.
  const best = results.reduce((a, b) => (a.postgresCpuMs <= b.postgresCpuMs ? a : b));
  const pgPerStep = best.postgresCpuMs / steps;
  const projected = (16 * 1000) / pgPerStep;
  const workerCores = (projected * (best.workerCpuMs / steps)) / 1000;
  console.log(
    `scale: ${results.map((r) => `${r.workers} worker${r.workers > 1 ? 's' : ''} ${r.stepsPerSecond.toFixed(0)}`).join(', ')} steps/s; projected ceiling ${projected.toFixed(0)} steps/s on a 16-core database (${pgPerStep.toFixed(2)} ms PostgreSQL CPU per step, ≈ ${workerCores.toFixed(0)} worker cores)`,
  );

  await db.close();
  server.close();
  if (created) await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
