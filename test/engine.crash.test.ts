// Crash safety with real processes: SIGKILL the server while a step is in flight; after a
// restart the run continues, completed steps are not re-run, the interrupted one is retried.
import { afterAll, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import {
  createWorkflowAt,
  isolatedDatabaseEnv,
  postGraphQL,
  startRunAt,
  startWeftProcess,
  type WeftProcess,
} from './helpers/process.ts';
import { until } from './helpers/wait.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it('continues a run after SIGKILL without re-running completed steps', { timeout: 150_000 }, async () => {
  let hang = true;
  const server: LoopbackServer = await startLoopbackServer(async (req, res) => {
    if (req.path === '/b' && hang) return new Promise<void>((resolve) => res.on('close', () => resolve())); // never answers
    json(res, 200, { path: req.path });
  });
  cleanups.push(() => server.close());
  const env = { ...(await isolatedDatabaseEnv(cleanups)), WEFT_STEP_LEASE_MS: '1500', WEFT_ENGINE_POLL_MS: '100' };

  let weft: WeftProcess = await startWeftProcess(env);
  cleanups.push(() => void weft.stop('SIGKILL'));
  const workflowId = await createWorkflowAt(weft.url, {
    name: 'crash me',
    definition: {
      steps: [
        { id: 'a', type: 'http_request', config: { url: `${server.url}/a` } },
        { id: 'b', type: 'http_request', dependsOn: ['a'], config: { url: `${server.url}/b` } },
        { id: 'c', type: 'http_request', dependsOn: ['b'], config: { url: `${server.url}/c` } },
      ],
    },
  });
  const runId = await startRunAt(weft.url, workflowId);

  await until('step b to be in flight', 30_000, async () => server.hits('/b') > 0);
  expect(await weft.stop('SIGKILL')).toBe(null); // killed, no clean shutdown
  hang = false;

  weft = await startWeftProcess(env);
  const run = await until('the run to finish after the restart', 30_000, async () => {
    const res = await postGraphQL(
      weft.url,
      graphql(
        `query CrashRun($id: ID!) { run(id: $id) { status stepRuns { stepId status attempt } events(first: 100) { edges { node { type stepId data } } } } }`,
      ),
      { id: runId },
    );
    const r = res.data?.run;
    return r && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.status) ? r : false;
  });
  expect(run.status).toBe('COMPLETED');
  expect(run.stepRuns.map((s) => [s.stepId, s.status, s.attempt])).toEqual([
    ['a', 'COMPLETED', 1],
    ['b', 'COMPLETED', 2],
    ['c', 'COMPLETED', 1],
  ]);
  expect(server.hits('/a')).toBe(1);
  expect(server.hits('/b')).toBe(2);
  expect(server.hits('/c')).toBe(1);
  const retried = run.events.edges.map((e) => e.node).filter((e) => e.type === 'STEP_RETRYING');
  expect(retried).toEqual([
    {
      type: 'STEP_RETRYING',
      stepId: 'b',
      data: expect.objectContaining({ reason: expect.stringMatching(/restart|lease expired/) }),
    },
  ]);
  expect(await weft.stop('SIGTERM')).toBe(0);
});
