// Graceful drain on PostgreSQL: a worker told to stop (SIGTERM) while a step is still running
// waits up to WEFT_SHUTDOWN_TIMEOUT_MS, then aborts the step and hands it back at once (a new
// attempt for another worker), instead of leaving it to be found by lease expiry. Steps that
// finish within the timeout are recorded normally.
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

describe.skipIf(!onPostgres)('graceful drain of a worker', () => {
  it('finishes a short step, hands a long one back on SIGTERM, and another worker completes it', {
    timeout: 120_000,
  }, async () => {
    const db = await createTestDatabase(process.env.TEST_DATABASE_URL!, { fromTemplate: true });
    cleanups.push(db.drop);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    cleanups.push(() => client.end());

    // The first request to /slow hangs until the test lets it go (or 60 s); later ones answer at once.
    let slowCalls = 0;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = await startLoopbackServer(async (req, res) => {
      if (req.path.startsWith('/slow') && ++slowCalls === 1)
        await Promise.race([released, new Promise((r) => setTimeout(r, 60_000))]);
      else if (req.path.startsWith('/short')) await new Promise((r) => setTimeout(r, 300));
      json(res, 200, { path: req.path, call: slowCalls });
    });
    cleanups.push(() => {
      release();
      return server.close();
    });

    // A lease far longer than the test: only the hand-back can explain a quick second attempt.
    const env = {
      DATABASE_URL: db.url,
      WEFT_STEP_LEASE_MS: '600000',
      WEFT_SHUTDOWN_TIMEOUT_MS: '1500',
      WEFT_ENGINE_POLL_MS: '100',
    };
    const api = await startWeftProcess(env, { args: ['serve'], timeoutMs: 60_000 });
    cleanups.push(() => api.stop('SIGKILL'));
    const first: WeftProcess = await startWeftProcess(env, { args: ['worker'], timeoutMs: 60_000 });
    cleanups.push(() => first.stop('SIGKILL'));

    const workflowId = await createWorkflowAt(api.url, {
      name: 'drain',
      definition: {
        steps: [
          { id: 'short', type: 'http_request', config: { url: `${server.url}/short` } },
          { id: 'long', type: 'http_request', timeoutSeconds: 120, config: { url: `${server.url}/slow` } },
        ],
      },
    });
    const runId = rawId(await startRunAt(api.url, workflowId));
    const step = async (stepId: string) =>
      (
        await client.query(
          `SELECT status, attempt, "leaseOwner" FROM "StepRun" WHERE "runId" = $1::uuid AND "stepId" = $2`,
          [runId, stepId],
        )
      ).rows[0];

    await until(
      'the long step to be running on the first worker',
      30_000,
      async () => (slowCalls === 1 && (await step('long'))?.leaseOwner?.includes(`:${first.child.pid}:`)) || false,
    );
    expect(await first.stop('SIGTERM', 30_000)).toBe(0);
    expect(first.output()).toContain('stopped cleanly');

    // Handed back, not abandoned: the step is already its next attempt, waiting (unleased) for
    // a worker to take its job, and the reason is recorded.
    const afterStop = await step('long');
    expect(afterStop).toMatchObject({ status: 'RUNNING', attempt: 2, leaseOwner: null });
    const handBack = await client.query(
      `SELECT data FROM "RunEvent" WHERE "runId" = $1::uuid AND type = 'STEP_RETRYING' AND "stepId" = 'long'`,
      [runId],
    );
    expect(handBack.rows.map((r) => r.data.reason)).toEqual(['worker shut down']);
    // The short step was allowed to finish during the drain.
    expect((await step('short')).status).toBe('COMPLETED');

    const second = await startWeftProcess(env, { args: ['worker'], timeoutMs: 60_000 });
    cleanups.push(() => second.stop('SIGKILL'));
    await until('the run to complete on the second worker', 30_000, async () => {
      const { rows } = await client.query(`SELECT status FROM "Run" WHERE id = $1::uuid`, [runId]);
      return rows[0].status === 'COMPLETED' || false;
    });
    const long = await step('long');
    expect(long).toMatchObject({ status: 'COMPLETED', attempt: 2 });
    expect(slowCalls).toBe(2);
    release();
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(await api.stop('SIGTERM')).toBe(0);
  });
});
