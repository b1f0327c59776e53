// The README's live-progress snippet, run as it is printed (only its server URL changed) against
// a real Weft process that is SIGKILLed and restarted while the run waits: it must resume with
// `after` and hand over exactly the stored log — no gap, no duplicate — ending on RUN_COMPLETED,
// and report where the replay caught up.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import {
  createWorkflowAt,
  isolatedDatabaseEnv,
  PROCESS_ADMIN_KEY,
  processData,
  ROOT,
  startRunAt,
  startWeftProcess,
} from './helpers/process.ts';
import { until } from './helpers/wait.ts';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The ```js block after the <!-- live-progress-snippet --> marker. */
function snippet(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const match = /<!-- live-progress-snippet -->\n```js\n([\s\S]*?)\n```/.exec(readme);
  if (!match) throw new Error('the README has no live-progress snippet');
  return match[1]!;
}

const StoredLog = graphql(`
  query SnippetStoredLog($id: ID!) {
    run(id: $id) {
      status
      events(first: 200) {
        edges {
          cursor
          node {
            seq
            type
          }
        }
      }
    }
  }
`);

it('resumes with `after` across a server kill and restart, delivering the stored log exactly once', {
  timeout: 240_000,
}, async () => {
  const env = { ...(await isolatedDatabaseEnv(cleanups)), WEFT_ENGINE_POLL_MS: '100', WEFT_STEP_LEASE_MS: '1500' };
  let weft = await startWeftProcess(env, { timeoutMs: 120_000 });
  cleanups.push(() => weft.stop('SIGKILL'));
  const { port } = new URL(weft.url);

  const code = snippet();
  expect(code).toContain("'ws://localhost:4000/graphql'");
  // Inside the repository, so that `import 'graphql-ws'` resolves as it would in a project.
  const dir = mkdtempSync(path.join(ROOT, 'test', '.snippet-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'watch.mjs');
  writeFileSync(file, code.replace("'ws://localhost:4000/graphql'", JSON.stringify(weft.url.replace('http', 'ws'))));
  process.env.WEFT_API_KEY = PROCESS_ADMIN_KEY;
  cleanups.push(() => void delete process.env.WEFT_API_KEY);
  const { watchRun } = (await import(pathToFileURL(file).href)) as {
    watchRun: (
      runId: string,
      onEvent: (e: { seq: number; type: string; cursor: string }) => void,
      options?: { onLive?: () => void },
    ) => Promise<void>;
  };

  const steps = [
    { id: 'begin', type: 'condition', config: { expression: 'true' } },
    { id: 'hold', type: 'wait', dependsOn: ['begin'], config: { seconds: 3 } },
    { id: 'end', type: 'condition', dependsOn: ['hold'], config: { expression: 'true' } },
  ];
  const runId = await startRunAt(
    weft.url,
    await createWorkflowAt(weft.url, { name: 'Watched by the README snippet', definition: { steps } }),
  );

  const delivered: { seq: number; type: string; cursor: string }[] = [];
  let live = 0;
  const watching = watchRun(runId, (event) => delivered.push(event), { onLive: () => void live++ });
  watching.catch(() => {}); // awaited below
  await until('the run to wait in step hold', 30_000, async () => delivered.some((e) => e.type === 'STEP_WAITING'));
  const beforeKill = delivered.length;
  expect(await weft.stop('SIGKILL')).toBe(null);
  weft = await startWeftProcess({ ...env, PORT: port }, { timeoutMs: 120_000 });
  await Promise.race([
    watching,
    new Promise((_, reject) =>
      setTimeout(
        () => reject(new Error(`the snippet did not end within 60 s (${delivered.length} events)`)),
        60_000,
      ).unref(),
    ),
  ]);

  const stored = await processData(weft, StoredLog, { id: runId });
  expect(stored.run?.status).toBe('COMPLETED');
  const log = stored.run!.events.edges;
  expect(delivered.map((e) => `${e.seq}:${e.type}`)).toEqual(log.map((e) => `${e.node.seq}:${e.node.type}`));
  expect(delivered.map((e) => e.cursor)).toEqual(log.map((e) => e.cursor));
  expect(beforeKill).toBeLessThan(log.length);
  expect(live).toBeGreaterThanOrEqual(1);
});
