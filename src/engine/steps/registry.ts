// The step-type registry: for every step type, its config schema, whether a worker executes it,
// and its handler. Validation (workflows/step-configs.ts), the worker/core split (advance.ts) and
// the handlers (executor.ts, loop.ts) are all read from here, so adding a step type touches this
// table, and `satisfies` makes a missing entry, or a loop body type without a handler, a compile error.
import {
  conditionConfigSchema,
  loopConfigSchema,
  outboundConfigSchemas,
  type Schema,
  waitStepConfigSchema,
} from '../../workflows/step-config-schemas.ts';
import { LOOP_BODY_TYPES, type LoopBodyType, type StepType } from '../../workflows/step-types.ts';
import { agentTaskStep } from './agent-task.ts';
import { httpRequestStep } from './http-request.ts';
import { scriptStep } from './script.ts';
import type { StepHandler } from './types.ts';
import { webhookStep } from './webhook.ts';

export interface StepTypeSpec {
  /**
   * `worker`: claimed and executed by a worker holding the step's lease (outside work, or a loop
   * running its body). `core`: decided inside the run's transaction by the state machine.
   */
  kind: 'worker' | 'core';
  /** The JSON Schema of the step's `config`. */
  configSchema: Schema;
  /** What executes it (worker types; a loop is run by the executor's loop.ts with its body's handler). */
  handler?: StepHandler;
}

export const STEP_REGISTRY = {
  http_request: { kind: 'worker', configSchema: outboundConfigSchemas.http_request, handler: httpRequestStep },
  webhook: { kind: 'worker', configSchema: outboundConfigSchemas.webhook, handler: webhookStep },
  script: { kind: 'worker', configSchema: outboundConfigSchemas.script, handler: scriptStep },
  agent_task: { kind: 'worker', configSchema: outboundConfigSchemas.agent_task, handler: agentTaskStep },
  loop: { kind: 'worker', configSchema: loopConfigSchema },
  condition: { kind: 'core', configSchema: conditionConfigSchema },
  wait: { kind: 'core', configSchema: waitStepConfigSchema },
} as const satisfies Record<StepType, StepTypeSpec> & Record<LoopBodyType, { handler: StepHandler }>;

/** The handlers of the types that do outside work (a loop's body is one of these). */
export const stepHandlers = Object.fromEntries(
  LOOP_BODY_TYPES.map((type) => [type, STEP_REGISTRY[type].handler]),
) as Record<LoopBodyType, StepHandler>;

/** The types a worker executes; the rest are decided inside the run's transaction. */
export const WORKER_STEP_TYPES: ReadonlySet<string> = new Set(
  Object.entries(STEP_REGISTRY)
    .filter(([, spec]) => spec.kind === 'worker')
    .map(([type]) => type),
);
