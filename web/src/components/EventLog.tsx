// A run's event log, virtualised (@tanstack/react-virtual): only the rows in view exist in the
// page, so 50,000 events scroll as smoothly as 50. Follow mode keeps the newest event in view
// until the reader scrolls up; scrolling back to the bottom turns it on again.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import type { RunEvent } from '@weft/client';

const ROW = 26;

function summary(event: RunEvent): string {
  if (event.data == null) return '';
  const text = JSON.stringify(event.data);
  return text.length > 240 ? `${text.slice(0, 239)}…` : text;
}

export function EventLog({
  events,
  version,
  live,
  onSelectStep,
}: {
  events: RunEvent[];
  version: number;
  live: string;
  onSelectStep?: (stepId: string) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const userScroll = useRef(0);
  const count = events.length;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 12,
  });

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` changes when rows are replaced in place; the view must follow the end then too.
  useEffect(() => {
    if (follow && count) virtualizer.scrollToIndex(count - 1, { align: 'end' });
  }, [follow, count, version, virtualizer]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW * 2;
    if (atBottom) setFollow(true);
    // Only the reader's own scrolling (wheel, keys, dragging) turns follow off, not ours.
    else if (Date.now() - userScroll.current < 500) setFollow(false);
  };
  const markUser = () => {
    userScroll.current = Date.now();
  };

  return (
    <div className="event-log">
      <div className="event-log-head">
        <strong>Events</strong>
        <span className="muted" aria-live="off" data-testid="event-count">
          {count.toLocaleString('en-US')} event{count === 1 ? '' : 's'}
          {count ? ` · last #${events[count - 1]!.seq}` : ''} · {live}
        </span>
        <label className="toggle">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
      </div>
      <div
        className="event-scroller"
        ref={scroller}
        onScroll={onScroll}
        onWheel={markUser}
        onKeyDown={markUser}
        onPointerDown={markUser}
        onTouchMove={markUser}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable log must be reachable by keyboard to scroll it (WCAG 2.1.1).
        tabIndex={0}
        role="log"
        aria-label="Event log"
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => {
            const event = events[item.index]!;
            return (
              <div
                key={event.seq}
                className={`event-row event-${event.type.toLowerCase()}`}
                style={{ transform: `translateY(${item.start}px)`, height: ROW }}
                data-seq={event.seq}
              >
                <span className="seq">#{event.seq}</span>
                <span className="time">{new Date(event.createdAt).toLocaleTimeString()}</span>
                <span className="type">{event.type}</span>
                <span className="step">
                  {event.stepId && onSelectStep ? (
                    <button type="button" className="link" onClick={() => onSelectStep(event.stepId!)}>
                      {event.stepId}
                      {event.iteration != null ? `[${event.iteration}]` : ''}
                    </button>
                  ) : (
                    (event.stepId ?? '')
                  )}
                </span>
                <span className="data">{summary(event)}</span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
