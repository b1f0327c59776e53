// signalRun and sendEvent: events for runs whose `wait` steps wait for them (docs/runs.md).
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Run } from '../generated/prisma/client.ts';
import { MAX_RETAIN_SECONDS, sendEvent, signalRun } from '../runs/signals.ts';
import { builder } from './builder.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';
import { parseGlobalId } from '../ids.ts';
import { RunRef } from './run.ts';

const SignalRunInput = builder.inputType('SignalRunInput', {
  description: 'An event for one run.',
  fields: (t) => ({
    runId: t.id({ required: true, description: 'Global ID of an unfinished run.' }),
    name: t.string({
      required: true,
      description: 'The event name its `wait` steps wait for (`event`): 1–200 letters, digits and _ . : / -.',
    }),
    payload: t.field({
      type: 'JSON',
      description: "The event payload (any JSON): `payload` in the wait's `match`, and in the step's output.",
    }),
    retainSeconds: t.int({
      description: `How long the event is kept for a wait that has not started yet (default 604800 = 7 days, at most ${MAX_RETAIN_SECONDS}; 0: only a step waiting now can take it).`,
    }),
  }),
});

const SendEventInput = builder.inputType('SendEventInput', {
  description: 'An event for every run of the workspace.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'The event name (as in SignalRunInput).' }),
    payload: t.field({ type: 'JSON', description: 'The event payload (any JSON).' }),
    retainSeconds: t.int({
      description:
        'How long the event is kept for waits that start later in runs that already existed when it was sent (default 7 days; 0: only steps waiting now).',
    }),
  }),
});

const SignalRunPayload = builder
  .objectRef<{ run: Run; deliveredTo: string[]; buffered: boolean }>('SignalRunPayload')
  .implement({
    description: 'What the event did.',
    fields: (t) => ({
      run: t.field({ type: RunRef, description: 'The run, after the delivery.', resolve: (p) => p.run }),
      deliveredTo: t.stringList({
        description: 'Ids of the steps the event released (empty: no step was waiting for it).',
        resolve: (p) => p.deliveredTo,
      }),
      buffered: t.boolean({
        description: 'True when no event wait took it: it is kept for a wait that starts later (retainSeconds).',
        resolve: (p) => p.buffered,
      }),
    }),
  });

const EventDelivery = builder.objectRef<{ runId: string; stepId: string }>('EventDelivery').implement({
  description: 'A run step an event released.',
  fields: (t) => ({
    runId: t.id({ description: 'Global ID of the run.', resolve: (d) => encodeGlobalID('Run', d.runId) }),
    stepId: t.exposeString('stepId', { description: 'The wait step.' }),
  }),
});

const SendEventPayload = builder
  .objectRef<{ signalId: string; deliveries: { runId: string; stepId: string }[] }>('SendEventPayload')
  .implement({
    description: 'Which waiting runs the event released.',
    fields: (t) => ({
      deliveries: t.field({
        type: [EventDelivery],
        description: 'The event waits it released now (a run takes an event at most once).',
        resolve: (p) => p.deliveries,
      }),
    }),
  });

builder.mutationFields((t) => ({
  signalRun: t.field({
    skipTypeScopes: true,
    authScopes: { run: true },
    type: SignalRunPayload,
    description:
      'Sends an event to one run: the first of its `wait` steps waiting for this event (name and match) completes with it as output; waits on a condition re-evaluate it. When none takes it, the event is kept for a wait that starts later (buffered). Finished runs are refused (CONFLICT).',
    args: { input: t.arg({ type: SignalRunInput, required: true }) },
    errors: mutationErrors('SignalRunResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, () =>
        signalRun(ctx, parseGlobalId(String(input.runId), 'Run'), {
          name: input.name,
          payload: input.payload,
          retainSeconds: input.retainSeconds,
        }),
      ),
  }),
  sendEvent: t.field({
    skipTypeScopes: true,
    authScopes: { run: true },
    type: SendEventPayload,
    description:
      'Sends an event to every run of the workspace: each run waiting for it (name and match) is released; runs that existed when it was sent and start such a wait later receive it then (within retainSeconds).',
    args: { input: t.arg({ type: SendEventInput, required: true }) },
    errors: mutationErrors('SendEventResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, () =>
        sendEvent(ctx, { name: input.name, payload: input.payload, retainSeconds: input.retainSeconds }),
      ),
  }),
}));
