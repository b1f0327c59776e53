// Counts live listeners on an event bus, so a test can wait until a subscription is registered
// on the server instead of sleeping "long enough" after subscribing. The bus is the app's public
// `app.bus`; the wrapper only counts and delegates.
import type { EventBus } from '../../src/events/log.ts';

export interface BusListeners {
  /** Listeners for one run's events (runEvents, runUpdated). */
  forRun(runId: string): number;
  /** Listeners for every event (runsFeed, workflowRunsUpdated). */
  all(): number;
}

export function watchBusListeners(bus: EventBus): BusListeners {
  const perRun = new Map<string, number>();
  let all = 0;
  const { subscribe, subscribeAll } = bus;
  bus.subscribe = (runId, listener) => {
    perRun.set(runId, (perRun.get(runId) ?? 0) + 1);
    const unsubscribe = subscribe.call(bus, runId, listener);
    return () => {
      perRun.set(runId, (perRun.get(runId) ?? 1) - 1);
      unsubscribe();
    };
  };
  bus.subscribeAll = (listener) => {
    all++;
    const unsubscribe = subscribeAll.call(bus, listener);
    return () => {
      all--;
      unsubscribe();
    };
  };
  return { forRun: (runId) => perRun.get(runId) ?? 0, all: () => all };
}
