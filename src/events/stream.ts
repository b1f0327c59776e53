// The event streams behind the subscriptions.
//
// runEventStream: every event of a run after a cursor, in order, with no gap and no duplicate,
// then the live ones, ending after the run's terminal event. Hand-over without a gap: we listen
// to live events FIRST (buffering them), then page through the stored events after the cursor;
// live events at or below the last delivered seq are dropped (duplicates), and a live event that
// skips a seq sends us back to the database to fill the hole (events can be published out of
// order, e.g. by another process; they are committed in order, so the hole is always stored).
// Pages keep memory bounded however long the log is; a subscriber that falls more than
// `maxBuffer` live events behind is ended with SLOW_CONSUMER instead of growing memory.
//
// Repeater (not an async generator) so that a client that unsubscribes while we wait for the
// next event is cleaned up at once: a generator cannot be returned while it awaits.
import { Repeater } from '@repeaterjs/repeater';
import { GraphQLError } from 'graphql';
import type { PrismaClient } from '../db/client.ts';
import type { EventBus, StoredEvent } from './log.ts';
import type { RunStatus } from '../generated/prisma/enums.ts';
import { eventFilter, type EventFilterInput } from './filter.ts';
import { FINISHED_RUN, TERMINAL_EVENTS } from '../engine/statuses.ts';

const FINISHED: ReadonlySet<string> = new Set(FINISHED_RUN);

export interface StreamOptions {
  prisma: PrismaClient;
  bus: EventBus;
  runId: string;
  /** Deliver events with seq greater than this. */
  after: number;
  pageSize?: number;
  maxBuffer?: number;
  /** Deliver only the matching events (the stream still ends after the terminal event). */
  filter?: EventFilterInput | null;
}

/**
 * Where the replay of stored events ends and live events begin: `seq` is the last event the
 * stream has read (delivered or filtered out), the cursor to resume from; `status` the run's
 * status at that moment.
 */
export interface CaughtUp {
  kind: 'CAUGHT_UP';
  seq: number;
  status: RunStatus;
}

/**
 * A bounded inbox that a stream's loop waits on until something arrives or the consumer stops.
 *
 * `stop` lives as long as the subscription, so nothing may be attached to it per wait: a
 * `Promise.race([next, stop])` on every wake would leave one reaction on `stop` each time, held
 * until the subscription ends (a leak proportional to the events a long-lived feed has seen).
 * Instead one reaction is attached here, once, and each wait is a fresh promise that either a
 * push or the stop resolves.
 */
export function inbox<T>(maxBuffer: number, stop: Promise<unknown>) {
  const items: T[] = [];
  let overflow = false;
  let stopped = false;
  let wake: (() => void) | null = null;
  const wakeUp = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  void stop.then(() => {
    stopped = true;
    wakeUp();
  });
  return {
    push(item: T) {
      if (items.length >= maxBuffer) overflow = true;
      else items.push(item);
      wakeUp();
    },
    get overflow() {
      return overflow;
    },
    get stopped() {
      return stopped;
    },
    shift: () => items.shift(),
    /** Resolves when something arrives or the consumer stops (at once if either already happened). */
    wait: (): Promise<void> =>
      stopped || items.length > 0 || overflow ? Promise.resolve() : new Promise<void>((resolve) => (wake = resolve)),
  };
}

export const slow = (maxBuffer: number, after?: number) =>
  new GraphQLError(
    `Subscriber is too slow: more than ${maxBuffer} events were waiting${after !== undefined ? `; resubscribe with after: "${after}"` : ''}`,
    {
      extensions: { code: 'SLOW_CONSUMER', ...(after !== undefined ? { after: String(after) } : {}) },
    },
  );

export function runEventStream(opts: StreamOptions): Repeater<StoredEvent> {
  return stream(opts, false) as Repeater<StoredEvent>;
}

/** runEventStream with a CaughtUp marker between the replayed events and the live ones. */
export function runEventStreamWithMarker(opts: StreamOptions): Repeater<StoredEvent | CaughtUp> {
  return stream(opts, true);
}

function stream(opts: StreamOptions, markCaughtUp: boolean): Repeater<StoredEvent | CaughtUp> {
  const pageSize = opts.pageSize ?? 500;
  const maxBuffer = opts.maxBuffer ?? 10_000;
  const filter = eventFilter(opts.filter);
  return new Repeater<StoredEvent | CaughtUp>(async (pushItem, stop) => {
    const live = inbox<StoredEvent>(maxBuffer, stop);
    const unsubscribe = opts.bus.subscribe(opts.runId, live.push);
    let last = opts.after;
    const push = async (event: StoredEvent) => {
      if (filter.matches(event)) await pushItem(filter.shape(event));
    };

    /** Delivers stored events after `last` (below `before`, if given); true when the terminal event was delivered. */
    const replay = async (before = Infinity): Promise<boolean> => {
      for (;;) {
        const page = await opts.prisma.runEvent.findMany({
          where: { runId: opts.runId, seq: { gt: last, lt: before === Infinity ? undefined : before } },
          orderBy: { seq: 'asc' },
          take: pageSize,
        });
        for (const event of page) {
          if (live.stopped) return true;
          last = event.seq;
          await push(event);
          if (TERMINAL_EVENTS.has(event.type)) return true;
        }
        if (page.length < pageSize) return false;
      }
    };

    try {
      if (await replay()) return;
      const run = await opts.prisma.run.findUnique({
        where: { id: opts.runId },
        select: { status: true, lastEventSeq: true },
      });
      if (!run || (FINISHED.has(run.status) && last >= run.lastEventSeq)) return;
      // Events committed after our replay read are already in the live inbox (we listened
      // first), so everything from here on is live.
      if (markCaughtUp) await pushItem({ kind: 'CAUGHT_UP', seq: last, status: run.status });
      while (!live.stopped) {
        if (live.overflow) throw slow(maxBuffer, last);
        const event = live.shift();
        if (!event) {
          await live.wait();
          continue;
        }
        if (event.seq <= last) continue; // a duplicate (or a deletion notice, seq 0: not part of the log)
        if (event.seq > last + 1 && (await replay(event.seq))) return;
        last = event.seq;
        await push(event);
        if (TERMINAL_EVENTS.has(event.type)) return;
      }
    } finally {
      unsubscribe();
      stop();
    }
  });
}

/** Live run-level events (queued, started, paused, resumed, finished…) matching a filter. */
export function runChanges(
  bus: EventBus,
  filter: (event: StoredEvent) => boolean,
  maxBuffer = 10_000,
): Repeater<StoredEvent> {
  return new Repeater<StoredEvent>(async (push, stop) => {
    const live = inbox<StoredEvent>(maxBuffer, stop);
    const unsubscribe = bus.subscribeAll((event) => {
      if (event.type.startsWith('RUN_') && event.type !== 'RUN_CHECKS' && filter(event)) live.push(event);
    });
    try {
      while (!live.stopped) {
        if (live.overflow) throw slow(maxBuffer);
        const event = live.shift();
        if (event) await push(event);
        else await live.wait();
      }
    } finally {
      unsubscribe();
      stop();
    }
  });
}
