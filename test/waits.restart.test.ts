// A real process killed (SIGKILL) while an approval waits, and started again: the approver's
// POST to the token URL it received before the crash releases the step, and the run finishes.
// On the embedded database the token comes from the secrets key Weft generated in WEFT_HOME.
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { BUILTIN_TEMPLATES } from '../src/templates/builtin.ts';
import { onPostgres } from './helpers/app.ts';
import { json, startLoopbackServer } from './helpers/http-server.ts';
import { graphql } from './generated/gql.ts';
import {
  createWorkflowAt,
  isolatedDatabaseEnv,
  postGraphQL,
  startRunAt,
  startWeftProcess,
  type WeftProcess,
} from './helpers/process.ts';

const RunSteps = graphql(`
  query WaitsRestartRun($id: ID!) {
    run(id: $id) {
      status
      output
      stepRuns {
        stepId
        status
      }
    }
  }
`);
import { until } from './helpers/wait.ts';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it('releases an approval through its token URL after the server was killed and restarted', {
  timeout: 300_000,
}, async () => {
  const received: { approveUrl: string }[] = [];
  const approver = await startLoopbackServer((req, res) => {
    received.push(JSON.parse(req.body));
    json(res, 200, {});
  });
  cleanups.push(() => approver.close());
  const env = {
    ...(await isolatedDatabaseEnv(cleanups)),
    WEFT_ENGINE_POLL_MS: '100',
    WEFT_PUBLIC_URL: 'https://approvals.example.com',
    ...(onPostgres ? { WEFT_SECRETS_KEY: randomBytes(32).toString('hex') } : {}),
  };

  // A generous start-up bound, as the other restart tests: the first start creates the embedded database.
  let weft: WeftProcess = await startWeftProcess(env, { timeoutMs: 120_000 });
  cleanups.push(() => void weft.stop('SIGKILL'));
  const definition = BUILTIN_TEMPLATES.find((x) => x.name === 'Approval')!.definition;
  const workflowId = await createWorkflowAt(weft.url, { name: 'approve me', definition });
  const runId = await startRunAt(weft.url, workflowId, {
    notifyUrl: `${approver.url}/notify`,
    subject: 'ship it',
    timeoutSeconds: 3600,
  });
  const stepStatus = async (stepId: string) => {
    const res = await postGraphQL(weft.url, RunSteps, { id: runId });
    const run = res.data?.run;
    if (!run) throw new Error(`no run: ${JSON.stringify(res)}`);
    return { run, status: run.stepRuns.find((s) => s.stepId === stepId)?.status };
  };
  await until('the approval step to wait', 30_000, async () => (await stepStatus('approval')).status === 'WAITING');
  const approveUrl = new URL(received[0]!.approveUrl);
  expect(approveUrl.origin).toBe('https://approvals.example.com');

  expect(await weft.stop('SIGKILL')).toBe(null);
  weft = await startWeftProcess(env, { timeoutMs: 120_000 });
  const origin = new URL(weft.url).origin;
  const answer = await fetch(`${origin}${approveUrl.pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ approved: true }),
  });
  expect(answer.status).toBe(200);
  const run = await until('the run to finish', 30_000, async () => {
    const { run } = await stepStatus('decide');
    return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(run.status) ? run : false;
  });
  expect(run.status).toBe('COMPLETED');
  expect(run.output).toEqual({ approved: true, answer: { approved: true }, timedOut: false });
  expect(await weft.stop('SIGTERM')).toBe(0);
});
