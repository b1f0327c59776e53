// When each step ran, on one time axis from the run's start: a bar per attempt's span, growing
// while the step runs.
import { memo, useEffect, useState } from 'react';
import { formatDuration } from '../ui/format.ts';

export interface TimelineStep {
  stepId: string;
  status: string;
  startedAt?: string | null;
  finishedAt?: string | null;
}

export const Timeline = memo(function Timeline({
  steps,
  startedAt,
  finishedAt,
  onSelect,
}: {
  steps: TimelineStep[];
  startedAt: string | null | undefined;
  finishedAt: string | null | undefined;
  onSelect?: (stepId: string) => void;
}) {
  const running = !!startedAt && !finishedAt;
  const [now, setNow] = useState(Date.now());
  // A clock for the bars of running steps (display only; the data comes by subscription).
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [running]);

  if (!startedAt) return <p className="muted">The run has not started yet.</p>;
  const start = new Date(startedAt).getTime();
  const end = Math.max(
    finishedAt ? new Date(finishedAt).getTime() : now,
    ...steps.map((s) => (s.finishedAt ? new Date(s.finishedAt).getTime() : 0)),
    start + 1,
  );
  const span = end - start;
  return (
    <div className="timeline" role="list" aria-label="Step timeline">
      {steps.map((step) => {
        const from = step.startedAt ? new Date(step.startedAt).getTime() : null;
        const to = step.finishedAt ? new Date(step.finishedAt).getTime() : from !== null ? now : null;
        return (
          <div key={step.stepId} className="timeline-row" role="listitem">
            <button type="button" className="link timeline-label" onClick={() => onSelect?.(step.stepId)}>
              {step.stepId}
            </button>
            <div className="timeline-track">
              {from !== null && to !== null ? (
                <div
                  className={`timeline-bar status-${step.status.toLowerCase()}`}
                  style={{
                    left: `${((from - start) / span) * 100}%`,
                    width: `${Math.max(0.5, ((to - from) / span) * 100)}%`,
                  }}
                  title={`${step.stepId}: ${step.status} ${formatDuration(to - from)}`}
                />
              ) : null}
            </div>
            <span className="timeline-duration">
              {from !== null && to !== null ? formatDuration(to - from) : step.status.toLowerCase()}
            </span>
          </div>
        );
      })}
    </div>
  );
});
