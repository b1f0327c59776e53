// A long-lived feed must not grow with the number of events it has seen. The old inbox waited
// with Promise.race([next, stop]) on every wake, leaving one reaction on `stop` (pending for the
// whole subscription) per wake: ~670 bytes each, forever. This drives feeds and run streams
// through many thousands of wakes and checks the heap after forced GC stays flat.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createMemoryEventBus, type StoredEvent } from '../src/events/log.ts';
import { runChanges, runEventStream } from '../src/events/stream.ts';
import { startTestApp } from './helpers/app.ts';
import { createWorkflow, rawId, startRun } from './helpers/runs.ts';
import { until } from './helpers/wait.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function event(runId: string, seq: number, type = 'RUN_STARTED'): StoredEvent {
  return {
    id: BigInt(seq),
    workspaceId: 'ws',
    runId,
    seq,
    type,
    stepId: null,
    iteration: null,
    data: null,
    createdAt: new Date(),
  };
}

/**
 * Publishes `count` events one at a time, each only once the consumer has taken the previous one,
 * so that the stream's loop goes back to waiting (a wake) for every single event.
 */
async function driveWakes(publish: (seq: number) => void, received: () => number, from: number, count: number) {
  for (let seq = from; seq < from + count; seq++) {
    publish(seq);
    for (let spins = 0; received() < seq; spins++) {
      if (spins > 1000) throw new Error(`event ${seq} was not delivered`);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

const WARM_UP = 2_000;
const WAKES = 30_000;
/** The old code leaked ~670 bytes per wake: 30,000 wakes ≈ 20 MB. Flat code stays well under 3 MB. */
const MAX_GROWTH_BYTES = 3 * 1024 * 1024;

describe('event streams keep nothing per wake', () => {
  it('a workspace feed (runChanges) stays flat over 30,000 wakes', async () => {
    const bus = createMemoryEventBus();
    const feed = runChanges(bus, () => true);
    let received = 0;
    const consumer = (async () => {
      for await (const _ of feed) received++;
    })();
    const publish = (seq: number) => bus.publish([event('run-a', seq)]);

    await driveWakes(publish, () => received, 1, WARM_UP);
    const before = heapAfterGc();
    await driveWakes(publish, () => received, WARM_UP + 1, WAKES);
    const growth = heapAfterGc() - before;

    await feed.return();
    await consumer;
    expect(received).toBe(WARM_UP + WAKES);
    expect(growth, `heap grew by ${(growth / 1024 / 1024).toFixed(1)} MB over ${WAKES} wakes`).toBeLessThan(
      MAX_GROWTH_BYTES,
    );
  });

  it('a run stream (runEventStream) waiting on live events stays flat over 30,000 wakes', {
    timeout: 120_000,
  }, async () => {
    // A real run parked on a long wait: the stream replays its stored events, finds it still
    // running, then waits for live ones, which a private bus feeds with the following seqs.
    const t = await startTestApp();
    await t.app.start(0, '127.0.0.1');
    try {
      const workflowId = await createWorkflow(t, { steps: [{ id: 'park', type: 'wait', config: { seconds: 3600 } }] });
      const runId = rawId(await startRun(t, workflowId));
      await until(
        'the run to park on its wait',
        15_000,
        async () => (await t.db.prisma.stepRun.count({ where: { runId, status: 'WAITING' } })) > 0,
      );
      const { lastEventSeq: stored } = await t.db.prisma.run.findUniqueOrThrow({ where: { id: runId } });
      const bus = createMemoryEventBus();
      const stream = runEventStream({ prisma: t.db.prisma, bus, runId, after: 0 });
      let received = 0;
      const consumer = (async () => {
        for await (const _ of stream) received++;
      })();
      await until('the stored events to be replayed', 5_000, async () => received === stored);
      let live = 0;
      const delivered = () => received - stored;
      const publish = (seq: number) => bus.publish([event(runId, stored + seq, 'STEP_LOG')]);

      await driveWakes(publish, () => delivered(), 1, WARM_UP);
      live += WARM_UP;
      const before = heapAfterGc();
      await driveWakes(publish, () => delivered(), WARM_UP + 1, WAKES);
      live += WAKES;
      const growth = heapAfterGc() - before;

      await stream.return();
      await consumer;
      expect(delivered()).toBe(live);
      expect(growth, `heap grew by ${(growth / 1024 / 1024).toFixed(1)} MB over ${WAKES} wakes`).toBeLessThan(
        MAX_GROWTH_BYTES,
      );
    } finally {
      await t.close();
    }
  });
});
