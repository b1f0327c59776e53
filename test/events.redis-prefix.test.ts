// Deployments sharing one Redis keep their events apart: the fan-out channel is named with
// WEFT_REDIS_PREFIX, so a bus with another prefix receives nothing, and one with the same prefix
// (another process of the same deployment) receives everything.
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import type { StoredEvent } from '../src/events/log.ts';
import { createRedisEventBus, type RedisEventBus } from '../src/events/redis-bus.ts';
import { memoryLogger, onPostgres } from './helpers/app.ts';
import { until } from './helpers/wait.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const buses: RedisEventBus[] = [];
afterAll(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
});

function bus(prefix: string) {
  const created = createRedisEventBus(REDIS_URL, prefix, memoryLogger().log);
  buses.push(created);
  return created;
}

it.runIf(onPostgres)('delivers events only to buses with the same prefix', { timeout: 20_000 }, async () => {
  const unique = randomUUID().slice(0, 8);
  const [publisher, sameDeployment, otherDeployment] = [bus(`a-${unique}:`), bus(`a-${unique}:`), bus(`b-${unique}:`)];
  await Promise.all(buses.map((b) => b.ready));
  const received = { same: [] as number[], other: [] as number[] };
  sameDeployment.subscribeAll((e) => received.same.push(e.seq));
  otherDeployment.subscribeAll((e) => received.other.push(e.seq));

  const runId = randomUUID();
  const events: StoredEvent[] = [1, 2, 3].map((seq) => ({
    id: BigInt(seq),
    workspaceId: randomUUID(),
    runId,
    seq,
    type: 'STEP_STARTED',
    stepId: 's',
    iteration: null,
    data: {},
    createdAt: new Date(),
  }));
  publisher.publish(events);
  await until('the same-prefix bus to receive three events', 5000, () => received.same.length >= 3, 20);
  // Give a wrongly shared channel the same time again to deliver.
  await new Promise((r) => setTimeout(r, 300));
  expect(received.same).toEqual([1, 2, 3]);
  expect(received.other).toEqual([]);
});
