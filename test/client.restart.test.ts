// watchRun across a server crash, with real processes: a Weft child process is SIGKILLed while
// a run waits in a 3-second `wait` step, and restarted on the same database and port. The
// watcher reconnects by itself (bounded backoff), resumes after the last seq it delivered, and
// its seq list must equal the run's stored event log exactly: no gap, no duplicate, ending on
// RUN_COMPLETED.
import { createClient, type RetryInfo, type RunEvent } from '@weft/client';
import { afterAll, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import {
  createWorkflowAt,
  isolatedDatabaseEnv,
  PROCESS_ADMIN_KEY,
  processData,
  startRunAt,
  startWeftProcess,
} from './helpers/process.ts';
import { until } from './helpers/wait.ts';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const StoredLog = graphql(`
  query ClientRestartStoredLog($id: ID!) {
    run(id: $id) {
      status
      events(first: 200) {
        totalCount
        edges {
          node {
            seq
            type
          }
        }
      }
    }
  }
`);

it('resumes a run’s events after the server is SIGKILLed and restarted, without a gap or a duplicate', {
  timeout: 240_000,
}, async () => {
  const env = { ...(await isolatedDatabaseEnv(cleanups)), WEFT_ENGINE_POLL_MS: '100', WEFT_STEP_LEASE_MS: '1500' };
  let weft = await startWeftProcess(env, { timeoutMs: 120_000 });
  cleanups.push(() => weft.stop('SIGKILL'));
  const { port } = new URL(weft.url);

  const workflowId = await createWorkflowAt(weft.url, {
    name: 'Watched across a crash',
    definition: {
      steps: [
        { id: 'begin', type: 'condition', config: { expression: 'true' } },
        { id: 'hold', type: 'wait', dependsOn: ['begin'], config: { seconds: 3 } },
        { id: 'after', type: 'condition', dependsOn: ['hold'], config: { expression: 'true' } },
        { id: 'again', type: 'wait', dependsOn: ['after'], config: { seconds: 0.5 } },
        { id: 'end', type: 'condition', dependsOn: ['again'], config: { expression: 'true' } },
      ],
    },
  });
  const runId = await startRunAt(weft.url, workflowId);

  const client = createClient({
    url: weft.url,
    apiKey: PROCESS_ADMIN_KEY,
    retry: { maxAttempts: 60, minDelayMs: 100, maxDelayMs: 1_000 },
  });
  cleanups.push(() => client.close());
  const delivered: RunEvent[] = [];
  const retries: RetryInfo[] = [];
  const watching = (async () => {
    for await (const event of client.watchRun(runId, { onRetry: (info) => void retries.push(info) }))
      delivered.push(event);
  })();
  watching.catch(() => {}); // awaited below; a rejection must not go unhandled meanwhile
  // The workspace feed on the same client, reconnecting the same way (it has no cursor).
  const feed = new AbortController();
  const feedRuns: string[] = [];
  let feedRetries = 0;
  const feeding = (async () => {
    for await (const run of client.watchRuns({ signal: feed.signal, onRetry: () => void feedRetries++ }))
      feedRuns.push(run.id);
  })();
  feeding.catch(() => {});

  await until('the run to wait in step hold', 30_000, async () =>
    delivered.some((e) => e.type === 'STEP_WAITING' && e.stepId === 'hold'),
  );
  const beforeKill = delivered.length;
  expect(await weft.stop('SIGKILL')).toBe(null); // killed: no clean shutdown, the socket just drops

  weft = await startWeftProcess({ ...env, PORT: port }, { timeoutMs: 120_000 });
  await Promise.race([
    watching,
    new Promise((_, reject) =>
      setTimeout(
        () => reject(new Error(`watchRun did not end within 60 s (${delivered.length} events)`)),
        60_000,
      ).unref(),
    ),
  ]);

  const stored = await processData(weft, StoredLog, { id: runId });
  expect(stored.run?.status).toBe('COMPLETED');
  const log = stored.run!.events.edges.map((e) => e.node.seq);
  expect(log).toEqual(Array.from({ length: stored.run!.events.totalCount }, (_, i) => i + 1));
  expect(delivered.map((e) => e.seq)).toEqual(log); // every stored event exactly once, in order
  expect(delivered.at(-1)?.type).toBe('RUN_COMPLETED');
  // The crash really happened mid-run and the watcher really reconnected.
  expect(beforeKill).toBeLessThan(log.length);
  expect(retries.length).toBeGreaterThan(0);
  expect(retries.every((r) => r.delayMs <= 1_500)).toBe(true); // maxDelayMs 1 000 with at most +50 % jitter

  // watchRuns reconnected too: runs started on the restarted server show up on its feed.
  expect(feedRetries).toBeGreaterThan(0);
  await until(
    'a run started after the restart on the feed',
    20_000,
    async () => {
      if (feedRuns.some((id) => id !== runId)) return true;
      await startRunAt(weft.url, workflowId);
      return false;
    },
    500,
  );
  feed.abort();
  await feeding;
});
