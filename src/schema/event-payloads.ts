// Typed payloads of run events: RunEvent.payload is a RunEventPayload, an interface with one
// implementation per kind of event (StepCompletedPayload, RunFinishedPayload…), so generated
// clients get real types instead of RunEvent.data's untyped JSON (kept, deprecated).
//
// One table, PAYLOADS, maps each payload type to its event types and its fields. An event type
// missing from the table (a new one) gets OtherEventPayload (its data as JSON) until it is added
// here: adding an event type never breaks the schema.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { assertNever } from '../engine/statuses.ts';
import type { RunEventType } from '../events/log.ts';
import { RunStatus } from '../generated/prisma/enums.ts';
import { builder } from './builder.ts';
import { RunStatusEnum } from './enums.ts';
import { RunEventTypeEnum } from './run.ts';

/** What the payload types resolve from: the event's type and its data. */
interface Payload {
  type: string;
  data: Record<string, unknown>;
}

type Kind = 'String' | 'Int' | 'Boolean' | 'DateTime' | 'JSON' | 'Strings' | 'Error' | 'Status' | 'RunId' | 'Checks';
type FieldSpec = [kind: Kind, description: string, key?: string];

const attempt: FieldSpec = ['Int', 'The attempt number (1 for the first).'];
const error: FieldSpec = ['Error', 'What went wrong.'];
const reason: FieldSpec = ['String', 'Why.'];

const PAYLOADS: Record<string, { types: RunEventType[]; description: string; fields: Record<string, FieldSpec> }> = {
  RunQueuedPayload: {
    types: ['RUN_QUEUED'],
    description: 'The run was queued: started, previewed, retried or resumed.',
    fields: {
      trigger: ['String', 'What queued it (e.g. MANUAL, SCHEDULE, WEBHOOK, PREVIEW, RETRY).'],
      version: ['Int', 'The workflow version to run.'],
      resumed: ['Boolean', 'True when resumeRun queued it again.'],
      fromStep: ['String', 'For a resume: the step it continues from.'],
      steps: ['Strings', 'For a resume: the steps that will run again.'],
      parentRunId: ['RunId', 'For a retry: global ID of the run it retries.'],
      strategy: ['String', 'For a retry: FROM_FAILURE or ALL_STEPS.'],
      reusedSteps: ['Strings', 'For a retry: steps whose outputs are reused.'],
    },
  },
  RunStartedPayload: { types: ['RUN_STARTED'], description: 'The run started executing.', fields: {} },
  RunPausedPayload: {
    types: ['RUN_PAUSED'],
    description: 'The run paused (a wait step waits to be resumed).',
    fields: { reason },
  },
  RunResumedPayload: {
    types: ['RUN_RESUMED'],
    description: 'The run continued (after a pause, or on another worker).',
    fields: { stepId: ['String', 'The step it continued at, if any.'] },
  },
  RunFinishedPayload: {
    types: ['RUN_COMPLETED', 'RUN_FAILED', 'RUN_CANCELLED'],
    description: 'The run finished: RUN_COMPLETED, RUN_FAILED or RUN_CANCELLED (its terminal event).',
    fields: {
      status: ['Status', 'The status it finished with.'],
      output: ['JSON', 'The run output (COMPLETED).'],
      error,
      reason,
    },
  },
  StepStartedPayload: {
    types: ['STEP_STARTED'],
    description: 'An attempt of a step started.',
    fields: { attempt, input: ['JSON', 'The evaluated step config (sensitive values redacted).'] },
  },
  StepLogPayload: {
    types: ['STEP_LOG'],
    description: 'Log lines a step wrote.',
    fields: {
      attempt,
      lines: ['Strings', 'The lines, in order.'],
      live: ['Boolean', 'True for lines streamed while the step was running.'],
    },
  },
  StepRetryingPayload: {
    types: ['STEP_RETRYING'],
    description: 'An attempt failed and the step will be tried again.',
    fields: {
      attempt,
      error,
      reason,
      nextAttempt: ['Int', 'The number of the next attempt.'],
      nextAttemptAt: ['DateTime', 'When the next attempt starts.'],
    },
  },
  StepWaitingPayload: {
    types: ['STEP_WAITING'],
    description: 'A wait step is waiting.',
    fields: {
      until: ['DateTime', 'When it continues by itself.'],
      untilResumed: ['Boolean', 'True when it waits for resumeRun.'],
    },
  },
  StepCompletedPayload: {
    types: ['STEP_COMPLETED'],
    description: 'A step (or loop iteration) completed.',
    fields: { attempt, output: ['JSON', "The step's output."], durationMs: ['Int', 'How long the attempt took.'] },
  },
  StepFailedPayload: {
    types: ['STEP_FAILED'],
    description: 'A step (or loop iteration) failed for good.',
    fields: { attempt, error, durationMs: ['Int', 'How long the attempt took.'] },
  },
  StepSkippedPayload: {
    types: ['STEP_SKIPPED', 'STEP_CANCELLED'],
    description: 'A step was skipped (STEP_SKIPPED) or cancelled (STEP_CANCELLED) without finishing.',
    fields: { reason },
  },
  RunChecksPayload: {
    types: ['RUN_CHECKS'],
    description: "The results of the workflow's post-run checks.",
    fields: { checks: ['Checks', 'One result per check.'] },
  },
  WebhookPayload: {
    types: ['WEBHOOK_DELIVERED', 'WEBHOOK_FAILED'],
    description: 'The completion webhook was delivered (WEBHOOK_DELIVERED) or given up on (WEBHOOK_FAILED).',
    fields: {
      url: ['String', 'Where it was sent.'],
      httpStatus: ['Int', 'The response status (delivered).', 'status'],
      attempt,
      error,
    },
  },
};

const TYPENAME_OF = new Map<string, string>(
  Object.entries(PAYLOADS).flatMap(([name, spec]) => spec.types.map((type) => [type, name] as const)),
);

const EventErrorRef = builder
  .objectRef<{ message: string; name: string | null; retryable: boolean | null }>('EventError')
  .implement({
    description: 'An error reported by an event.',
    fields: (t) => ({
      message: t.exposeString('message', { description: 'What went wrong.' }),
      name: t.exposeString('name', { nullable: true, description: 'Its kind (e.g. TimeoutError, HttpError).' }),
      retryable: t.exposeBoolean('retryable', {
        nullable: true,
        description: 'Whether another attempt could succeed.',
      }),
    }),
  });

const CheckResultRef = builder
  .objectRef<{ name: string; expression: string | null; passed: boolean; error: string | null }>('RunCheckResult')
  .implement({
    description: 'The result of one post-run check.',
    fields: (t) => ({
      name: t.exposeString('name', { description: "The check's name." }),
      expression: t.exposeString('expression', { nullable: true, description: 'The expression evaluated.' }),
      passed: t.exposeBoolean('passed', { description: 'Whether it held.' }),
      error: t.exposeString('error', { nullable: true, description: 'Why it could not be evaluated.' }),
    }),
  });

function toError(value: unknown) {
  if (value == null) return null;
  if (typeof value === 'string') return { message: value, name: null, retryable: null };
  const v = value as { message?: unknown; name?: unknown; retryable?: unknown };
  return {
    message: typeof v.message === 'string' ? v.message : JSON.stringify(value),
    name: typeof v.name === 'string' ? v.name : null,
    retryable: typeof v.retryable === 'boolean' ? v.retryable : null,
  };
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);
const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : null);

export const RunEventPayloadRef = builder.interfaceRef<Payload>('RunEventPayload').implement({
  description:
    'The typed details of a run event; the implementation depends on the event type (OtherEventPayload for types without a dedicated one).',
  fields: (t) => ({
    type: t.field({ type: RunEventTypeEnum, description: 'The event type.', resolve: (p) => p.type as RunEventType }),
  }),
  resolveType: (p) => TYPENAME_OF.get(p.type) ?? 'OtherEventPayload',
});

for (const [name, spec] of Object.entries(PAYLOADS)) {
  builder.objectRef<Payload>(name).implement({
    description: `${spec.description} Event types: ${spec.types.join(', ')}.`,
    interfaces: [RunEventPayloadRef],
    fields: (t) =>
      Object.fromEntries(
        Object.entries(spec.fields).map(([field, [kind, description, key = field]]) => {
          const get = (p: Payload) => p.data[key];
          const common = { description, nullable: true } as const;
          switch (kind) {
            case 'String':
              return [field, t.string({ ...common, resolve: (p) => str(get(p)) })];
            case 'Int':
              return [field, t.int({ ...common, resolve: (p) => int(get(p)) })];
            case 'Boolean':
              return [
                field,
                t.boolean({ ...common, resolve: (p) => (typeof get(p) === 'boolean' ? (get(p) as boolean) : null) }),
              ];
            case 'DateTime':
              return [
                field,
                t.field({
                  ...common,
                  type: 'DateTime',
                  resolve: (p) => (typeof get(p) === 'string' ? new Date(get(p) as string) : null),
                }),
              ];
            case 'JSON':
              return [field, t.field({ ...common, type: 'JSON', resolve: (p) => get(p) as never })];
            case 'Strings':
              return [
                field,
                t.stringList({
                  ...common,
                  resolve: (p) => (Array.isArray(get(p)) ? (get(p) as unknown[]).map(String) : null),
                }),
              ];
            case 'Error':
              return [field, t.field({ ...common, type: EventErrorRef, resolve: (p) => toError(get(p)) })];
            case 'Status':
              return [
                field,
                t.field({
                  ...common,
                  type: RunStatusEnum,
                  resolve: (p) =>
                    Object.values(RunStatus).includes(get(p) as RunStatus) ? (get(p) as RunStatus) : null,
                }),
              ];
            case 'RunId':
              return [
                field,
                t.id({
                  ...common,
                  resolve: (p) => (typeof get(p) === 'string' ? encodeGlobalID('Run', get(p) as string) : null),
                }),
              ];
            case 'Checks':
              return [
                field,
                t.field({
                  ...common,
                  type: [CheckResultRef],
                  resolve: (p) =>
                    Array.isArray(get(p))
                      ? (get(p) as Record<string, unknown>[]).map((c) => ({
                          name: String(c.name ?? ''),
                          expression: str(c.expression),
                          passed: c.passed === true,
                          error: str(c.error),
                        }))
                      : null,
                }),
              ];
            default:
              return assertNever(kind);
          }
        }),
      ),
  });
}

builder.objectRef<Payload>('OtherEventPayload').implement({
  description: 'Details of an event type that has no dedicated payload type yet.',
  interfaces: [RunEventPayloadRef],
  fields: (t) => ({
    data: t.field({
      type: 'JSON',
      nullable: true,
      description: "The event's details as stored.",
      resolve: (p) => p.data as never,
    }),
  }),
});

builder.prismaObjectField('RunEvent', 'payload', (t) =>
  t.field({
    type: RunEventPayloadRef,
    description:
      "The event's details, typed per event type (select them with `... on StepCompletedPayload { output }`…).",
    resolve: (e) => ({
      type: e.type,
      data: e.data && typeof e.data === 'object' && !Array.isArray(e.data) ? (e.data as Record<string, unknown>) : {},
    }),
  }),
);
