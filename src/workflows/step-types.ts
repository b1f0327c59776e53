// The step types a definition may use (docs/steps.md): the vocabulary. What each one is — its
// config schema, whether a worker executes it, its handler — is in the step-type registry
// (engine/steps/registry.ts), which must have an entry for every name here.
export const STEP_TYPES = ['http_request', 'script', 'agent_task', 'condition', 'loop', 'wait', 'webhook'] as const;
export type StepType = (typeof STEP_TYPES)[number];

/** The step types that do outside work, which a loop may run once per item (each has a handler). */
export const LOOP_BODY_TYPES = [
  'http_request',
  'webhook',
  'script',
  'agent_task',
] as const satisfies readonly StepType[];
export type LoopBodyType = (typeof LOOP_BODY_TYPES)[number];
