// Partial updates. Definition patches follow PromptLayer's patch-workflow semantics: steps are
// merged by id (an object adds or updates a step, null removes it), a step's config is
// deep-merged, dependsOn is replaced when given, and dependencies on removed steps are
// dropped. Metadata patches follow Cyberdesk's: null clears everything, a key set to null
// removes that key, other keys are merged.
import { isPlainObject, type StepDefinition, type WorkflowDefinition } from './definition.ts';

export interface DefinitionPatch {
  /** Step id → step fields to add/update, or null to remove the step. */
  steps?: Record<string, Record<string, unknown> | null>;
  inputSchema?: unknown;
  outputSchema?: unknown;
  output?: unknown;
  maxParallelSteps?: unknown;
}

/** Objects merge recursively; anything else (arrays included) replaces. null removes a key. */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = deepMerge(base[key], value);
  }
  return result;
}

export function applyDefinitionPatch(base: WorkflowDefinition, patch: DefinitionPatch): WorkflowDefinition {
  const steps: StepDefinition[] = base.steps.map((s) => ({ ...s }));
  const removed = new Set<string>();
  for (const [id, change] of Object.entries(patch.steps ?? {})) {
    const index = steps.findIndex((s) => s.id === id);
    if (change === null) {
      if (index >= 0) steps.splice(index, 1);
      removed.add(id);
      continue;
    }
    if (index < 0) {
      steps.push({ ...(change as Partial<StepDefinition>), id } as StepDefinition);
      continue;
    }
    const current = steps[index]!;
    const merged: Record<string, unknown> = { ...current };
    for (const [key, value] of Object.entries(change)) {
      if (key === 'id') continue;
      if (key === 'config') merged.config = deepMerge(current.config ?? {}, value);
      else if (value === null) delete merged[key];
      else merged[key] = value; // dependsOn and everything else are replaced
    }
    steps[index] = merged as unknown as StepDefinition;
  }
  for (const step of steps) {
    if (Array.isArray(step.dependsOn) && step.dependsOn.some((d) => removed.has(d))) step.dependsOn = step.dependsOn.filter((d) => !removed.has(d));
  }
  const result: Record<string, unknown> = { ...base, steps };
  for (const key of ['inputSchema', 'outputSchema', 'output', 'maxParallelSteps'] as const) {
    if (!Object.hasOwn(patch, key)) continue;
    if (patch[key] === null) delete result[key];
    else result[key] = patch[key];
  }
  return result as unknown as WorkflowDefinition;
}

/** Cyberdesk metadata patch: null clears; a key set to null is removed; others merge (shallow). */
export function mergeMetadata(current: unknown, patch: unknown): Record<string, unknown> | null {
  if (patch === null) return null;
  const result: Record<string, unknown> = isPlainObject(current) ? { ...current } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete result[key];
    else result[key] = value;
  }
  return result;
}
