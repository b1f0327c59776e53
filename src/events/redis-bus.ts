// Event fan-out across Weft processes through Redis pub/sub (REDIS_URL). Every process publishes
// committed run events to one channel (named with WEFT_REDIS_PREFIX, so deployments sharing a
// Redis do not receive each other's events) and delivers what it receives — its own included — to its
// local subscribers, so a subscriber connected to any process sees every run's events. Redis
// keeps one publisher's messages in order; a subscriber that still sees a seq gap (two
// publishers) fills it from the database (src/events/stream.ts), so the stream stays gap-free.
import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { createMemoryEventBus, type EventBus, type StoredEvent } from './log.ts';

export interface RedisEventBus extends EventBus {
  ready: Promise<void>;
  /** Both connections up (ioredis reconnects in the background when they drop). */
  connected(): boolean;
  close(): Promise<void>;
}

function encode(events: StoredEvent[]): string {
  return JSON.stringify(events, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
}

function decode(message: string): StoredEvent[] {
  return (JSON.parse(message) as (Omit<StoredEvent, 'id' | 'createdAt'> & { id: string; createdAt: string })[]).map(
    (e) => ({ ...e, id: BigInt(e.id), createdAt: new Date(e.createdAt) }),
  );
}

export function createRedisEventBus(url: string, prefix: string, log: Logger): RedisEventBus {
  const channel = `${prefix}run-events`;
  const local = createMemoryEventBus();
  const publisher = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const subscriber = new Redis(url, { lazyConnect: false });
  for (const [name, client] of [
    ['publisher', publisher],
    ['subscriber', subscriber],
  ] as const) {
    client.on('error', (error) => log.error({ err: error, client: name }, 'redis error'));
  }
  subscriber.on('message', (_channel, message) => {
    try {
      local.publish(decode(message));
    } catch (error) {
      log.error({ err: error }, 'dropping an undecodable event message');
    }
  });
  const ready = subscriber.subscribe(channel).then(() => undefined);
  const connected = () => publisher.status === 'ready' && subscriber.status === 'ready';
  return {
    ready,
    publish(events) {
      if (events.length === 0) return;
      publisher
        .publish(channel, encode(events))
        .catch((error) => log.error({ err: error }, 'could not publish run events to redis'));
    },
    subscribe: local.subscribe,
    subscribeAll: local.subscribeAll,
    connected,
    async close() {
      // quit() waits for a connection that may never come; disconnect() stops the retries too.
      if (!connected()) return void (subscriber.disconnect(), publisher.disconnect());
      await Promise.allSettled([subscriber.quit(), publisher.quit()]);
    },
  };
}
