// Live step logs: a running script's lines reach subscribers while it runs (batched STEP_LOG
// events marked live), are stored on the step as they go, and every line is stored and
// delivered exactly once, in order — including the ones still pending when the step ends.
import { describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import type { StepLogsEventsSubscription } from './generated/graphql.ts';
import { createWorkflow, rawId, startRun, stepsOf, waitForRun } from './helpers/runs.ts';
import { subscribe, useLiveApp } from './helpers/live.ts';
import { until } from './helpers/wait.ts';

const FLUSH_MS = 100;
const live = useLiveApp({
  WEFT_ENGINE_POLL_MS: '50',
  WEFT_SCRIPTS_ENABLED: 'true',
  WEFT_STEP_LOG_FLUSH_MS: String(FLUSH_MS),
});

const LOGS = graphql(`
  subscription StepLogsEvents($runId: ID!, $filter: RunEventFilter) {
    runEvents(runId: $runId, filter: $filter) {
      seq
      type
      createdAt
      payload {
        __typename
        ... on StepLogPayload {
          lines
          live
        }
      }
    }
  }
`);
/** The log lines of a STEP_LOG event (none for other events). */
const logPayload = (event: StepLogsEventsSubscription['runEvents']): { lines: string[]; live: boolean | null } =>
  event.payload.__typename === 'StepLogPayload'
    ? { lines: event.payload.lines ?? [], live: event.payload.live }
    : { lines: [], live: false };

const script = (source: string) => ({
  steps: [{ id: 'work', type: 'script', timeoutSeconds: 60, config: { language: 'python', source } }],
});

describe('live step logs', () => {
  it("streams a running script's lines in batches while it runs, and stores each line once, in order", async () => {
    const { t } = live;
    const run = await startRun(
      t,
      await createWorkflow(
        t,
        script('import time\nfor i in range(6):\n    print(f"line {i}", flush=True)\n    time.sleep(0.4)\n'),
      ),
    );
    const sub = subscribe(
      live.wsClient(),
      LOGS,
      { runId: run, filter: { types: ['STEP_LOG', 'STEP_COMPLETED'], stepIds: ['work'] } },
      30_000,
    );
    // A line is visible, stored and published, while the script is still running.
    await until('a live batch with the first line', 20_000, async () =>
      sub.results.some(
        (r) => logPayload(r.runEvents).live === true && logPayload(r.runEvents).lines.includes('line 0'),
      ),
    );
    const row = await t.db.prisma.stepRun.findFirstOrThrow({
      where: { runId: rawId(run), stepId: 'work', iteration: -1 },
    });
    expect(row.status).toBe('RUNNING');
    expect(row.logs).toMatch(/line 0\n/);

    const events = (await sub.done).map((r) => r.runEvents);
    expect((await waitForRun(t, run)).status).toBe('COMPLETED');
    const logs = events.filter((e) => e.type === 'STEP_LOG');
    const liveBatches = logs.filter((e) => logPayload(e).live === true);
    expect(liveBatches.length).toBeGreaterThanOrEqual(3);
    const delivered = logs.flatMap((e) => logPayload(e).lines);
    const printed = delivered.filter((l) => /^line \d$/.test(l));
    expect(printed).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    // Stored: the step's logs are exactly the delivered lines, in order.
    const stored = (await stepsOf(t, run)).work!.logs.trimEnd().split('\n');
    expect(stored).toEqual(delivered);
    // The first line arrived long before the step completed.
    const firstAt = Date.parse(liveBatches[0]!.createdAt);
    const completedAt = Date.parse(events.find((e) => e.type === 'STEP_COMPLETED')!.createdAt);
    expect(completedAt - firstAt).toBeGreaterThan(1000);
  });

  it('bounds the batches of a chatty script: one event per interval at most, each of at most 200 lines', async () => {
    const { t } = live;
    const started = Date.now();
    const run = await startRun(
      t,
      await createWorkflow(
        t,
        script('import sys, time\nfor i in range(450):\n    print(f"n{i}")\nsys.stdout.flush()\ntime.sleep(0.6)\n'),
      ),
    );
    expect((await waitForRun(t, run, undefined, 30_000)).status).toBe('COMPLETED');
    const elapsed = Date.now() - started;
    const logs = await t.db.prisma.runEvent.findMany({
      where: { runId: rawId(run), type: 'STEP_LOG' },
      orderBy: { seq: 'asc' },
    });
    const lines = logs.flatMap((e) => (e.data as { lines: string[] }).lines);
    expect(lines.filter((l) => /^n\d+$/.test(l))).toEqual(Array.from({ length: 450 }, (_, i) => `n${i}`));
    const sizes = logs.map((e) => (e.data as { lines: string[] }).lines.length);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(200);
    expect(sizes).toContain(200); // the burst was split
    const liveCount = logs.filter((e) => (e.data as { live?: boolean }).live).length;
    expect(liveCount).toBeLessThanOrEqual(Math.ceil(elapsed / FLUSH_MS) + 1);
    expect((await stepsOf(t, run)).work!.logs.trimEnd().split('\n')).toEqual(lines);
  });
});
