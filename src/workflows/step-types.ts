// The step types a definition may use (docs/steps.md). Its own module so that the definition
// validator and the per-type config schemas can both import it without importing each other.
export const STEP_TYPES = ['http_request', 'script', 'agent_task', 'condition', 'loop', 'wait', 'webhook'] as const;
export type StepType = (typeof STEP_TYPES)[number];
