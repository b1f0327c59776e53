// Calls back when the live connection comes back after dropping: a feed subscription cannot
// replay what happened while it was down, so lists built from one reload once then.
import { useEffect, useRef } from 'react';
import type { Live } from './connection.ts';

export function useReconnected(live: Live | null | undefined, callback: () => void) {
  const latest = useRef(callback);
  latest.current = callback;
  useEffect(() => {
    if (!live) return;
    let dropped = false;
    return live.onStatus((status) => {
      if (status === 'reconnecting') dropped = true;
      else if (status === 'connected' && dropped) {
        dropped = false;
        latest.current();
      }
    });
  }, [live]);
}
