// React's view of a run's event log, from @weft/client's watchRun: every event in seq order,
// each exactly once, replayed and then live, resumed from the last seq after a dropped
// connection or a server restart (the package keeps the cursor and the backoff). Here we only
// batch what arrives (a run replaying 50,000 events must not cost 50,000 renders), keep the
// events across resubscriptions (a resumed run continues after the last seq the page has), and
// track the caught-up marker so the page can tell "loading the history" from "live".
import { useEffect, useRef, useState } from 'react';
import type { RunEvent, WeftClient } from '@weft/client';

export interface RunEventsState {
  /** Every event received, in seq order (mutated in place; `version` changes when it grows). */
  events: RunEvent[];
  version: number;
  /** The server has replayed the stored events; what follows is live (reset on every resubscription). */
  caughtUp: boolean;
  /** The stream ended after the run's terminal event. */
  done: boolean;
  error: unknown;
}

const BATCH_MS = 50;

/** Watches `runId`; bump `generation` to resubscribe after the last event (e.g. once the run is resumed). */
export function useRunEvents(client: WeftClient | null, runId: string, generation: number): RunEventsState {
  const store = useRef<{ runId: string; events: RunEvent[] }>({ runId, events: [] });
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<{ caughtUp: boolean; done: boolean; error: unknown }>({
    caughtUp: false,
    done: false,
    error: null,
  });

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` is bumped to resubscribe after the run ended.
  useEffect(() => {
    if (!client) return;
    if (store.current.runId !== runId) store.current = { runId, events: [] };
    const events = store.current.events;
    setStatus({ caughtUp: false, done: false, error: null });
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      if (!abort.signal.aborted) setVersion((v) => v + 1);
    };

    const stream = client.watchRun(runId, {
      after: events.at(-1)?.seq ?? 0,
      signal: abort.signal,
      onCaughtUp: () => setStatus((s) => (s.caughtUp ? s : { ...s, caughtUp: true })),
      // A reconnection replays from the cursor: until its marker arrives the view is catching up again.
      onRetry: () => setStatus((s) => (s.caughtUp ? { ...s, caughtUp: false } : s)),
    });
    void (async () => {
      try {
        for await (const event of stream) {
          // Once stopped, the next subscription resumes after the last event kept: none may follow it from here.
          if (abort.signal.aborted) break;
          events.push(event);
          timer ??= setTimeout(flush, BATCH_MS);
        }
        flush();
        if (!abort.signal.aborted) setStatus({ caughtUp: true, done: true, error: null });
      } catch (error) {
        flush();
        if (!abort.signal.aborted) setStatus({ caughtUp: false, done: false, error });
      }
    })();
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [client, runId, generation]);

  return { events: store.current.runId === runId ? store.current.events : [], version, ...status };
}
