// Crash recovery in seconds on PostgreSQL: a worker SIGKILLed while it runs steps has them taken
// over by another worker within 2 s — with a lease of ten minutes, so only the dead worker's
// released liveness lock can explain it — and each taken-over step runs exactly once more.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { onPostgres } from './helpers/app.ts';
import { json, startLoopbackServer } from './helpers/http-server.ts';
import { createTestDatabase } from './helpers/pg.ts';
import { createWorkflowAt, startRunAt, startWeftProcess, type WeftProcess } from './helpers/process.ts';
import { rawId } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const STEPS = 6;

describe.skipIf(!onPostgres)('crash recovery', () => {
  it('hands the steps of a SIGKILLed worker (one of three) to the others within 2 s, each run once more', {
    timeout: 180_000,
  }, async () => {
    const db = await createTestDatabase(process.env.TEST_DATABASE_URL!, { fromTemplate: true });
    cleanups.push(db.drop);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    cleanups.push(() => client.end());

    // Every step's first call hangs until the test lets go; the calls of later attempts answer at once.
    const calls = new Map<string, number[]>();
    const gates: (() => void)[] = [];
    const server = await startLoopbackServer(async (req, res) => {
      const seen = [...(calls.get(req.path) ?? []), Date.now()];
      calls.set(req.path, seen);
      if (seen.length === 1) await new Promise<void>((resolve) => gates.push(resolve));
      json(res, 200, { path: req.path });
    });
    cleanups.push(() => {
      for (const open of gates.splice(0)) open();
      return server.close();
    });

    const env = { DATABASE_URL: db.url, WEFT_STEP_LEASE_MS: '600000', WEFT_ENGINE_POLL_MS: '250' };
    const api = await startWeftProcess(env, { args: ['serve'], timeoutMs: 60_000 });
    cleanups.push(() => api.stop('SIGKILL'));
    const workers: WeftProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const worker = await startWeftProcess(env, { args: ['worker'], timeoutMs: 60_000 });
      workers.push(worker);
      cleanups.push(() => worker.stop('SIGKILL'));
    }

    const steps = Array.from({ length: STEPS }, (_, i) => ({
      id: `s${i}`,
      type: 'http_request',
      timeoutSeconds: 300,
      config: { url: `${server.url}/s${i}` },
    }));
    const runId = rawId(
      await startRunAt(api.url, await createWorkflowAt(api.url, { name: 'crash', definition: { steps } })),
    );
    const leases = async () =>
      (
        await client.query<{ stepId: string; attempt: number; leaseOwner: string | null }>(
          `SELECT "stepId", attempt, "leaseOwner" FROM "StepRun" WHERE "runId" = $1::uuid AND status = 'RUNNING'`,
          [runId],
        )
      ).rows;

    // All steps are running and leased (each worker takes what its job queue hands it).
    const held = await until('every step to be running under a lease', 30_000, async () => {
      const rows = await leases();
      return rows.length === STEPS && rows.every((r) => r.leaseOwner) && calls.size === STEPS ? rows : false;
    });
    const victim = workers.find((w) => held.some((r) => r.leaseOwner!.includes(`:${w.child.pid}:`)))!;
    const victimSteps = held
      .filter((r) => r.leaseOwner!.includes(`:${victim.child.pid}:`))
      .map((r) => r.stepId)
      .sort();
    expect(victimSteps.length).toBeGreaterThan(0);

    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    await until(
      "the dead worker's steps to be called again",
      10_000,
      async () => victimSteps.every((id) => (calls.get(`/${id}`)?.length ?? 0) >= 2) || false,
    );
    const takeovers = victimSteps.map((id) => calls.get(`/${id}`)![1]! - killedAt);
    console.log(
      `crash recovery: ${victimSteps.length} step(s) of the killed worker called again ${takeovers.map((ms) => `${ms} ms`).join(', ')} after SIGKILL (lease 600 s)`,
    );
    for (const ms of takeovers) expect(ms).toBeLessThan(2000);

    for (const open of gates.splice(0)) open();
    await until(
      'the run to complete',
      30_000,
      async () =>
        (await client.query(`SELECT status FROM "Run" WHERE id = $1::uuid`, [runId])).rows[0].status === 'COMPLETED' ||
        false,
    );
    // Taken over once: the dead worker's steps ran exactly twice, the others once.
    for (let i = 0; i < STEPS; i++)
      expect(calls.get(`/s${i}`)!.length, `calls of s${i}`).toBe(victimSteps.includes(`s${i}`) ? 2 : 1);
    const reasons = await client.query(
      `SELECT "stepId", data FROM "RunEvent" WHERE "runId" = $1::uuid AND type = 'STEP_RETRYING' ORDER BY seq`,
      [runId],
    );
    expect(reasons.rows.map((r) => r.stepId).sort()).toEqual(victimSteps);
    expect(new Set(reasons.rows.map((r) => r.data.reason))).toEqual(
      new Set(['worker died (its liveness lock was released)']),
    );

    for (const worker of workers.filter((w) => w !== victim)) expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await api.stop('SIGTERM')).toBe(0);
  });

  it('takes its liveness lock again when its connection is cut, and gives it up when it stops', {
    timeout: 120_000,
  }, async () => {
    const db = await createTestDatabase(process.env.TEST_DATABASE_URL!, { fromTemplate: true });
    cleanups.push(db.drop);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    cleanups.push(() => client.end());
    const holders = async () =>
      (
        await client.query<{ pid: number }>(
          `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ${0x57454654}::int4::oid AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        )
      ).rows.map((r) => r.pid);

    const worker = await startWeftProcess({ DATABASE_URL: db.url }, { args: ['worker'], timeoutMs: 60_000 });
    cleanups.push(() => worker.stop('SIGKILL'));
    const [first] = await until('the worker to hold its liveness lock', 10_000, async () =>
      (await holders()).length === 1 ? holders() : false,
    );
    await client.query('SELECT pg_terminate_backend($1)', [first]);
    const again = await until('the lock to be held again on a new connection', 10_000, async () => {
      const now = await holders();
      return now.length === 1 && now[0] !== first ? now : false;
    });
    expect(again).toHaveLength(1);
    expect(worker.output()).toContain('liveness lock connection lost');

    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await holders()).toEqual([]);
  });
});
