// The hot path of graphile-worker dispatch: a worker with a free slot leases the step it claims
// to itself and executes it after the commit, without a job; claims beyond its free slots become
// jobs any worker may take. (In-process dispatch, on the embedded database, runs every claim
// locally: engine.dispatch.test.ts covers it.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, rawId, startRun, waitForRun } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

let t: TestApp;
let server: LoopbackServer;
const held: (() => void)[] = [];

describe.skipIf(!onPostgres)('local-first dispatch (graphile-worker)', () => {
  beforeAll(async () => {
    server = await startLoopbackServer(async (req, res) => {
      if (req.path.startsWith('/hold')) await new Promise<void>((resolve) => held.push(resolve));
      json(res, 200, { ok: true });
    });
    // One slot: the first claim of a pass is executed here, the others go to the queue (whose
    // own concurrency, also 1, lets one of them run beside it).
    t = await startTestApp({ WEFT_ENGINE_POLL_MS: '50', WEFT_WORKER_CONCURRENCY: '1' });
    await t.app.engine.start();
  });
  afterAll(async () => {
    for (const release of held) release();
    await t?.close();
    await server?.close();
  });

  it('executes a claim with a free slot here without a job, and queues the rest', async () => {
    const wf = await createWorkflow(t, {
      steps: ['a', 'b', 'c'].map((id) => ({ id, type: 'http_request', config: { url: `${server.url}/hold/${id}` } })),
    });
    const run = await startRun(t, wf);
    const runId = rawId(run);
    // Two requests arrive: the local one and the one graphile's single job slot runs.
    await until('two held requests', 10_000, () => held.length >= 2, 10);
    const steps = await t.db.prisma.stepRun.findMany({ where: { runId }, orderBy: { stepId: 'asc' } });
    expect(steps.map((s) => s.status)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    const jobs = await t.db.prisma.$queryRaw<
      { key: string }[]
    >`SELECT key FROM graphile_worker.jobs WHERE key LIKE 'weft_step:%'`;
    const withJob = steps.filter((s) => jobs.some((j) => j.key === `weft_step:${s.id}:${s.attempt}`));
    const local = steps.filter((s) => !withJob.includes(s));
    expect(withJob).toHaveLength(2);
    // The local claim was leased to this worker in the claiming transaction.
    expect(local).toHaveLength(1);
    expect(local[0]!.leaseOwner).not.toBeNull();

    while (held.length) held.shift()!();
    // The queued step still waiting for graphile's slot reaches the server later: release it too.
    const finished = await until(
      'the run to finish',
      15_000,
      async () => {
        while (held.length) held.shift()!();
        const current = await t.db.prisma.run.findUniqueOrThrow({ where: { id: runId } });
        return current.status === 'COMPLETED' ? current : false;
      },
      20,
    );
    expect(finished.status).toBe('COMPLETED');
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
  });
});
