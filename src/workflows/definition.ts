// The shape of a workflow definition and its validation. Every mutation that stores a
// definition validates it here first and stores nothing when there is any problem.
import type { Problem } from '../errors.ts';

export const STEP_TYPES = ['http_request', 'script', 'agent_task', 'condition', 'loop', 'wait', 'webhook'] as const;
export type StepType = (typeof STEP_TYPES)[number];

export interface StepDefinition {
  id: string;
  type: StepType;
  name?: string;
  config: Record<string, unknown>;
  dependsOn?: string[];
  when?: unknown;
  retry?: Record<string, unknown>;
  timeoutSeconds?: number;
}

export interface WorkflowDefinition {
  steps: StepDefinition[];
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  /** Template computing the run output; default: the final steps' outputs by step id. */
  output?: unknown;
  /** How many ready steps of one run may run at once (default 10). */
  maxParallelSteps?: number;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Structural validation: returns every problem found, each with its path relative to the
 * definition (callers prefix the path of the argument that held it).
 */
export function validateDefinition(definition: unknown): Problem[] {
  if (!isPlainObject(definition)) return [{ path: [], message: 'must be a JSON object with a "steps" array' }];
  if (!Array.isArray(definition.steps)) return [{ path: ['steps'], message: 'must be an array of steps' }];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  definition.steps.forEach((step, index) => {
    if (!isPlainObject(step)) {
      problems.push({ path: ['steps', index], message: 'must be an object' });
      return;
    }
    const stepId = typeof step.id === 'string' ? step.id : null;
    if (!stepId) problems.push({ path: ['steps', index, 'id'], message: 'must be a non-empty string' });
    else if (seen.has(stepId)) problems.push({ path: ['steps', index, 'id'], message: `Duplicate step id '${stepId}'`, stepId });
    else seen.add(stepId);
    if (!STEP_TYPES.includes(step.type as StepType)) {
      problems.push({ path: ['steps', index, 'type'], message: `Unknown step type ${JSON.stringify(step.type)}; expected one of ${STEP_TYPES.join(', ')}`, stepId });
    }
  });
  return problems;
}
