// The run page across a server restart, in a real Chromium against a real Weft process: the
// page says it is reconnecting while the server is down, then continues the run's event log
// from the last event it saw (no gap, no duplicate) and the DAG keeps lighting up, without a
// reload. Another tab meanwhile shows "cannot be reached" in words, and recovers on Retry.
import { afterAll, expect, it } from 'vitest';
import { useBrowser, signedInScript } from './helpers/browser.ts';
import { documentMarked, eventSummary, expectAllNodes, markDocument, SHOWN, signIn } from './helpers/monitor.ts';
import { graphql } from './generated/gql.ts';
import {
  createWorkflowAt,
  isolatedDatabaseEnv,
  PROCESS_ADMIN_KEY,
  processData,
  startRunAt,
  startWeftProcess,
} from './helpers/process.ts';

const browser = useBrowser();
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const StoredLog = graphql(`
  query WebRestartStoredLog($id: ID!) {
    run(id: $id) {
      status
      events(first: 200) {
        totalCount
        edges {
          node {
            seq
          }
        }
      }
    }
  }
`);

it('reconnects after a restart mid-run and continues the event log without a gap or a duplicate', {
  timeout: 360_000,
}, async () => {
  const env = await isolatedDatabaseEnv(cleanups);
  let weft = await startWeftProcess(env, { timeoutMs: 120_000 });
  cleanups.push(() => weft.stop('SIGKILL'));
  const { origin, port } = new URL(weft.url);

  const workflowId = await createWorkflowAt(weft.url, {
    name: 'Across restarts',
    definition: {
      steps: [
        { id: 'begin', type: 'condition', config: { expression: 'true' } },
        { id: 'hold', type: 'wait', dependsOn: ['begin'], config: { seconds: 25 } },
        { id: 'after', type: 'condition', dependsOn: ['hold'], config: { expression: 'true' } },
        { id: 'again', type: 'wait', dependsOn: ['after'], config: { seconds: 0.5 } },
        { id: 'end', type: 'condition', dependsOn: ['again'], config: { expression: 'true' } },
      ],
    },
  });
  const runId = await startRunAt(weft.url, workflowId);

  const p = await browser.open();
  await signIn(p.page, origin, PROCESS_ADMIN_KEY);
  await p.page.goto(`${origin}/runs/${encodeURIComponent(runId)}`);
  await p.page.getByRole('button', { name: 'Step hold: WAITING' }).waitFor({ timeout: 25_000 });
  await markDocument(p.page);
  const before = await eventSummary(p.page);
  // Another tab, on the runs list, for what a person sees when they click on while the server is down.
  const other = await browser.open({ init: signedInScript(PROCESS_ADMIN_KEY) });
  await other.page.goto(`${origin}/runs`);
  await other.page.getByRole('table', { name: 'Runs' }).waitFor();

  expect(await weft.stop('SIGTERM')).toBe(0);
  await p.page.getByRole('status').getByText('Reconnecting…').waitFor({ timeout: 30_000 });
  await other.page.getByRole('link', { name: 'Workflows' }).click();
  await other.page.getByRole('alert').getByRole('heading', { name: 'Weft cannot be reached' }).waitFor();
  await other.page
    .getByRole('alert')
    .getByText(/Check that Weft is running/)
    .waitFor();

  weft = await startWeftProcess({ ...env, PORT: port }, { timeoutMs: 120_000 });
  await other.page.getByRole('button', { name: 'Retry' }).click();
  await other.page.getByRole('link', { name: 'Across restarts' }).waitFor();

  await p.page.getByRole('status').getByText('Live').waitFor({ timeout: 30_000 });
  await expectAllNodes(p.page, 'COMPLETED', 5, 60_000);
  const stored = await processData(weft, StoredLog, { id: runId });
  expect(stored.run?.status).toBe('COMPLETED');
  const total = stored.run!.events.totalCount;
  expect(stored.run!.events.edges.map((e) => e.node.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  // Every event once: as many as the server has, the last seq equal to that count.
  await expect.poll(() => eventSummary(p.page), SHOWN).toBe(`${total} events · last #${total} · complete`);
  expect(before).not.toBe(`${total} events · last #${total} · complete`);
  const seqs = await p.page
    .locator('[data-seq]')
    .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))));
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(await documentMarked(p.page)).toBe(true);
  // While the server was down the browser logged its failed connection attempts; nothing else.
  browser.expectClean(p, [/WebSocket connection to .* failed/, /ERR_CONNECTION_REFUSED/, /Failed to load resource/]);
});
