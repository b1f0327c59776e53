// The WebSocket (graphql-ws) of urql's subscriptions (runUpdated, runsFeed, …), and everything
// about keeping it connected: credentials as connectionParams, reconnecting with @weft/client's
// jittered exponential backoff after the server restarts or the network drops, and the status
// the header shows. A run's event log does not go through here: it is @weft/client's watchRun
// (see use-run-events.ts), which resumes from its own cursor. Nothing polls.
import { backoffMs } from '@weft/client';
import { createClient, type Client } from 'graphql-ws';

export type LiveStatus =
  /** No subscription is open (the socket is closed while idle). */
  | 'idle'
  | 'connecting'
  | 'connected'
  /** The connection dropped; retrying with backoff. */
  | 'reconnecting'
  /** The server refused the credential (close 4401/4403): retrying cannot help. */
  | 'refused';

export interface Live {
  client: Client;
  status(): LiveStatus;
  /** Calls `listener` on every status change; returns the unsubscribe function. */
  onStatus(listener: (status: LiveStatus) => void): () => void;
  dispose(): void;
}

const REFUSED = new Set([4401, 4403]);

export function createLive(url: string, connectionParams: Record<string, string>): Live {
  let status: LiveStatus = 'idle';
  const listeners = new Set<(status: LiveStatus) => void>();
  const set = (next: LiveStatus) => {
    if (next === status) return;
    status = next;
    for (const listener of listeners) listener(next);
  };
  let everConnected = false;

  const client = createClient({
    url,
    connectionParams,
    lazy: true,
    lazyCloseTimeout: 2_000,
    keepAlive: 10_000,
    retryAttempts: Infinity,
    // 250 ms doubling to 5 s, ±50 % jitter so clients do not stampede a restarted server.
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoffMs(retries + 1))),
    // Every close is worth retrying (a restart, a proxy timeout, a network change) except a
    // refused credential: the user has to sign in again.
    shouldRetry: (event) => !(isCloseEvent(event) && REFUSED.has(event.code)),
    on: {
      connecting: () => set(everConnected ? 'reconnecting' : 'connecting'),
      connected: () => {
        everConnected = true;
        set('connected');
      },
      closed: (event) => {
        if (isCloseEvent(event) && REFUSED.has(event.code)) set('refused');
        else if (isCloseEvent(event) && event.code === 1000) set('idle');
        else set('reconnecting');
      },
    },
  });

  return {
    client,
    status: () => status,
    onStatus(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    dispose() {
      listeners.clear();
      void client.dispose();
    },
  };
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'code' in value &&
    typeof (value as { code: unknown }).code === 'number'
  );
}
