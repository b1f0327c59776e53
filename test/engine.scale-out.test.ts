// Scale-out on PostgreSQL: one API process (`serve`) and three worker processes share the
// database (graphile-worker jobs) and Redis. 200 runs of a DAG with parallel branches; one
// worker is SIGKILLed while it holds steps. Every run must complete, every step be recorded
// COMPLETED exactly once, and the global and per-workflow run limits must hold throughout.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { onPostgres } from './helpers/app.ts';
import { json, startLoopbackServer } from './helpers/http-server.ts';
import { createTestDatabase } from './helpers/pg.ts';
import { createWorkflowAt, startRunAt, startWeftProcess, type WeftProcess } from './helpers/process.ts';
import { until } from './helpers/wait.ts';

const RUNS_PER_WORKFLOW = 100;
const GLOBAL_LIMIT = 8;
const LIMITED_WORKFLOW_LIMIT = 3;
const HTTP_STEPS = ['a', 'b1', 'b2', 'b3', 'd'];
const STEPS_PER_RUN = HTTP_STEPS.length + 1; // + the condition `c`

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe.skipIf(!onPostgres)('scale-out: serve + 3 workers on PostgreSQL with graphile-worker', () => {
  it('completes 200 runs through a worker SIGKILL, records each step once and keeps the limits', {
    timeout: 150_000,
  }, async () => {
    const db = await createTestDatabase(process.env.TEST_DATABASE_URL!, { fromTemplate: true });
    cleanups.push(db.drop);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    cleanups.push(() => client.end());

    // The steps call this server; it counts requests per Idempotency-Key (runId:stepId).
    const perKey = new Map<string, number>();
    const server = await startLoopbackServer(async (req, res) => {
      const key = String(req.headers['idempotency-key']);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 40)); // keep steps in flight long enough to be killed mid-way
      json(res, 200, { ok: true });
    });
    cleanups.push(() => server.close());

    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      WEFT_MAX_CONCURRENT_RUNS: String(GLOBAL_LIMIT),
      WEFT_WORKER_CONCURRENCY: '10',
      WEFT_STEP_LEASE_MS: '1500',
      WEFT_ENGINE_POLL_MS: '200',
      WEFT_SHUTDOWN_TIMEOUT_MS: '5000',
      WEFT_DB_POOL_MAX: '8',
    };
    const [api, ...workers] = (await Promise.all([
      startWeftProcess(env, { args: ['serve'], timeoutMs: 60_000 }),
      ...[1, 2, 3].map(() => startWeftProcess(env, { args: ['worker'], timeoutMs: 60_000 })),
    ])) as [WeftProcess, ...WeftProcess[]];
    for (const p of [api, ...workers]) cleanups.push(() => p.stop('SIGKILL'));
    // The worker serves health endpoints only; the API answers GraphQL.
    expect((await fetch(workers[0]!.url)).status).toBe(200);
    expect((await fetch(workers[0]!.url.replace('/healthz', '/graphql'))).status).toBe(404);

    const http = (id: string, dependsOn: string[] = []) => ({
      id,
      type: 'http_request',
      dependsOn,
      config: { method: 'POST', url: `${server.url}/step`, body: { step: id } },
    });
    const definition = {
      steps: [
        http('a'),
        http('b1', ['a']),
        http('b2', ['a']),
        http('b3', ['a']),
        { id: 'c', type: 'condition', dependsOn: ['b1', 'b2', 'b3'], config: { expression: 'true' } },
        http('d', ['c']),
      ],
    };
    const create = (name: string, extra: Record<string, unknown>) =>
      createWorkflowAt(api.url, { name, definition, ...extra });
    const limited = await create('limited', { maxConcurrentRuns: LIMITED_WORKFLOW_LIMIT });
    const open = await create('open', {});
    const limitedRawId = Buffer.from(limited, 'base64').toString('utf8').split(':')[1]!;

    // Sample what is RUNNING (and who holds leases) for the whole test.
    const seen = { total: 0, limited: 0, owners: new Set<string>() };
    let sampling = true;
    const sampler = (async () => {
      const sampleClient = new pg.Client({ connectionString: db.url });
      await sampleClient.connect();
      try {
        while (sampling) {
          const { rows } = await sampleClient.query<{ total: string; limited: string; owners: string[] | null }>(
            `SELECT (SELECT count(*) FROM "Run" WHERE status = 'RUNNING') AS total,
                    (SELECT count(*) FROM "Run" WHERE status = 'RUNNING' AND "workflowId" = $1::uuid) AS limited,
                    (SELECT array_agg(DISTINCT "leaseOwner") FROM "StepRun" WHERE status = 'RUNNING' AND "leaseOwner" IS NOT NULL) AS owners`,
            [limitedRawId],
          );
          seen.total = Math.max(seen.total, Number(rows[0]!.total));
          seen.limited = Math.max(seen.limited, Number(rows[0]!.limited));
          for (const owner of rows[0]!.owners ?? []) seen.owners.add(owner);
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await sampleClient.end();
      }
    })();
    cleanups.push(async () => {
      sampling = false;
      await sampler;
    });

    for (let i = 0; i < RUNS_PER_WORKFLOW; i++) {
      for (const workflowId of [limited, open]) {
        await startRunAt(api.url, workflowId, { i });
      }
    }

    const finished = async () =>
      Number(
        (await client.query(`SELECT count(*) FROM "Run" WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')`)).rows[0]
          .count,
      );
    // Kill a worker mid-way, while it holds at least one running step.
    const victim = workers[0]!;
    const victimLease = `:${victim.child.pid}:`;
    await until('a quarter of the runs to finish', 60_000, async () => (await finished()) >= 50 || false);
    await until('the victim to hold a step', 20_000, async () => {
      const { rows } = await client.query(
        `SELECT count(*) FROM "StepRun" WHERE status = 'RUNNING' AND "leaseOwner" LIKE $1`,
        [`%${victimLease}%`],
      );
      return Number(rows[0].count) > 0 || false;
    });
    await victim.stop('SIGKILL');

    await until('all runs to finish', 90_000, async () => (await finished()) >= 2 * RUNS_PER_WORKFLOW || false).catch(
      async (error) => {
        // Say what is stuck: unfinished steps and the jobs still queued.
        const stuck = (
          await client.query(
            `SELECT r.status AS run, s."stepId", s.status, s.attempt, s."leaseOwner", s."leaseExpiresAt", s."wakeAt" FROM "StepRun" s JOIN "Run" r ON r.id = s."runId" WHERE s.status <> 'COMPLETED' AND r.status <> 'QUEUED' LIMIT 20`,
          )
        ).rows;
        const jobs = (
          await client.query(
            `SELECT task_identifier, key, attempts, locked_by, run_at, last_error FROM graphile_worker.jobs LIMIT 20`,
          )
        ).rows;
        throw new Error(
          `${(error as Error).message}\nstuck steps: ${JSON.stringify(stuck)}\njobs: ${JSON.stringify(jobs)}\nworker output: ${workers[1]!.output().slice(-3000)}`,
        );
      },
    );
    sampling = false;
    await sampler;

    // Every run completed.
    const statuses = (await client.query(`SELECT status, count(*)::int AS n FROM "Run" GROUP BY status`)).rows;
    expect(statuses).toEqual([{ status: 'COMPLETED', n: 2 * RUNS_PER_WORKFLOW }]);

    // Every step is COMPLETED, and the log has exactly one STEP_COMPLETED per step of each run.
    const steps = (
      await client.query(`SELECT status, count(*)::int AS n FROM "StepRun" WHERE iteration = -1 GROUP BY status`)
    ).rows;
    expect(steps).toEqual([{ status: 'COMPLETED', n: 2 * RUNS_PER_WORKFLOW * STEPS_PER_RUN }]);
    const completions = (
      await client.query(
        `SELECT "runId", "stepId", count(*)::int AS n FROM "RunEvent" WHERE type = 'STEP_COMPLETED' GROUP BY "runId", "stepId"`,
      )
    ).rows;
    expect(completions.length).toBe(2 * RUNS_PER_WORKFLOW * STEPS_PER_RUN);
    expect(completions.filter((r) => r.n !== 1)).toEqual([]);

    // The kill mattered: some steps were reclaimed from the dead worker and ran again (attempt 2+).
    const reclaimed = (
      await client.query(`SELECT "runId"::text AS "runId", "stepId", attempt FROM "StepRun" WHERE attempt > 1`)
    ).rows;
    expect(reclaimed.length).toBeGreaterThan(0);
    // Taken over from the dead worker: its liveness lock went with it, or (the lease here is
    // only 1.5 s) its lease ran out first. test/engine.crash-recovery.test.ts separates the two.
    const takenOver = Number(
      (
        await client.query(
          `SELECT count(*) FROM "RunEvent" WHERE type = 'STEP_RETRYING' AND (data->>'reason' LIKE 'worker died%' OR data->>'reason' LIKE 'lease expired%')`,
        )
      ).rows[0].count,
    );
    expect(takenOver).toBeGreaterThan(0);
    // At-least-once outside: every HTTP step was requested, more than once only if it was retried,
    // and always with the same Idempotency-Key.
    const attempts = new Map(
      (await client.query(`SELECT "runId"::text AS "runId", "stepId", attempt FROM "StepRun"`)).rows.map((r) => [
        `${r.runId}:${r.stepId}`,
        r.attempt as number,
      ]),
    );
    let httpSteps = 0;
    for (const [key, attempt] of attempts) {
      if (!HTTP_STEPS.includes(key.split(':')[1]!)) continue;
      httpSteps++;
      expect(perKey.get(key) ?? 0, key).toBeGreaterThanOrEqual(1);
      expect(perKey.get(key)!, key).toBeLessThanOrEqual(attempt);
    }
    expect(httpSteps).toBe(2 * RUNS_PER_WORKFLOW * HTTP_STEPS.length);

    // The limits held, and the work really was spread over the workers.
    expect(seen.total).toBeLessThanOrEqual(GLOBAL_LIMIT);
    expect(seen.total).toBeGreaterThan(1);
    expect(seen.limited).toBeLessThanOrEqual(LIMITED_WORKFLOW_LIMIT);
    expect(seen.owners.size).toBe(3);

    // Graceful drain: the surviving workers and the API stop cleanly on SIGTERM.
    expect(await workers[1]!.stop('SIGTERM')).toBe(0);
    expect(await workers[2]!.stop('SIGTERM')).toBe(0);
    expect(await api.stop('SIGTERM')).toBe(0);
  });
});
