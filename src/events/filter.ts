// Filters a subscriber puts on a run's event stream (runEvents/runEventStream `filter`). They
// are applied to what is delivered only: the stream still reads every event, so its gap check,
// its cursor and its end on the terminal event work the same with or without a filter.
import type { StoredEvent } from './log.ts';

export interface EventFilterInput {
  /** Only these event types. */
  types?: readonly string[] | null;
  /** Only events of these steps (run-level events, which have no step, are dropped). */
  stepIds?: readonly string[] | null;
  /** false: drop the events of loop iterations (the loop step's own events stay). */
  iterations?: boolean | null;
  /** false: leave out the bulky details (output, input, log lines, check results). */
  includeData?: boolean | null;
}

/** Keys of RunEvent.data that can be large (an HTTP response with its headers, a script's logs…). */
export const BULKY_DATA_KEYS: readonly string[] = ['output', 'input', 'lines', 'checks'];

export interface EventFilter {
  matches(event: StoredEvent): boolean;
  /** The event as the subscriber asked to see it (bulky data left out when includeData is false). */
  shape(event: StoredEvent): StoredEvent;
}

function withoutBulkyData(event: StoredEvent): StoredEvent {
  if (!event.data || typeof event.data !== 'object' || Array.isArray(event.data)) return event;
  const data = Object.fromEntries(
    Object.entries(event.data as Record<string, unknown>).filter(([key]) => !BULKY_DATA_KEYS.includes(key)),
  );
  return { ...event, data };
}

export function eventFilter(input: EventFilterInput | null | undefined): EventFilter {
  const types = input?.types?.length ? new Set(input.types) : null;
  const steps = input?.stepIds?.length ? new Set(input.stepIds) : null;
  const iterations = input?.iterations ?? true;
  const includeData = input?.includeData ?? true;
  return {
    matches: (event) =>
      (!types || types.has(event.type)) &&
      (!steps || (event.stepId !== null && steps.has(event.stepId))) &&
      (iterations || event.iteration === null),
    shape: includeData ? (event) => event : withoutBulkyData,
  };
}
