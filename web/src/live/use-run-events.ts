// React's view of watchRun: the events of one run, kept across resubscriptions (a resumed run
// continues after the last seq the page has), re-rendered once per batch.
import { useEffect, useRef, useState } from 'react';
import type { Client } from 'graphql-ws';
import { watchRun, type RunEvent } from './run-events.ts';

export interface RunEventsState {
  /** Every event received, in seq order (mutated in place; `version` changes when it grows). */
  events: RunEvent[];
  version: number;
  /** The stream ended after the run's terminal event. */
  done: boolean;
  error: unknown;
}

/** Watches `runId`; bump `generation` to resubscribe after the last event (e.g. once the run is resumed). */
export function useRunEvents(client: Client | null, runId: string, generation: number): RunEventsState {
  const store = useRef<{ runId: string; events: RunEvent[] }>({ runId, events: [] });
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<{ done: boolean; error: unknown }>({ done: false, error: null });

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` is bumped to resubscribe after an error.
  useEffect(() => {
    if (!client) return;
    if (store.current.runId !== runId) store.current = { runId, events: [] };
    const events = store.current.events;
    setStatus({ done: false, error: null });
    return watchRun(client, runId, { after: events.at(-1)?.seq ?? 0 }, {
      onEvents(batch) {
        for (const event of batch) events.push(event);
        setVersion((v) => v + 1);
      },
      onComplete: () => setStatus({ done: true, error: null }),
      onError: (error) => setStatus({ done: false, error }),
    });
  }, [client, runId, generation]);

  return { events: store.current.runId === runId ? store.current.events : [], version, ...status };
}
