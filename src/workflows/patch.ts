// Definition patches (patchWorkflow, docs/workflows.md):
// - `steps` is an object keyed by step id: an object adds the step or updates it, null removes it;
//   steps not mentioned are kept as they are, in their order (new steps go at the end);
// - an updated step's `config` is deep-merged (a key set to null removes that key); every other
//   field given (`dependsOn` included) replaces the old value, and a field set to null removes it;
// - dependencies on removed steps are dropped from the remaining steps;
// - the top-level `inputSchema`, `outputSchema`, `output` and `maxParallelSteps` replace the old
//   value when given (null removes it).
// The result is a whole definition that the caller validates like any other.
import type { Problem } from '../errors.ts';
import { isPlainObject } from '../json.ts';
import type { StepDefinition, WorkflowDefinition } from './definition.ts';

export const DEFINITION_PATCH_KEYS = ['steps', 'inputSchema', 'outputSchema', 'output', 'maxParallelSteps'] as const;
type ReplacedKey = Exclude<(typeof DEFINITION_PATCH_KEYS)[number], 'steps'>;

export interface DefinitionPatch {
  /** Step id → step fields to add/update, or null to remove the step. */
  steps?: Record<string, Record<string, unknown> | null>;
  inputSchema?: unknown;
  outputSchema?: unknown;
  output?: unknown;
  maxParallelSteps?: unknown;
}

type Path = (string | number)[];

/** Problems with the shape of a patch, found before any version is read. */
export function checkDefinitionPatch(patch: unknown, path: Path): Problem[] {
  if (!isPlainObject(patch))
    return [{ path, message: 'must be an object like { steps: { <stepId>: { …fields } | null } }' }];
  const problems: Problem[] = Object.keys(patch)
    .filter((key) => !(DEFINITION_PATCH_KEYS as readonly string[]).includes(key))
    .map((key) => ({
      path: [...path, key],
      message: `Unknown field '${key}'; a definition patch may contain ${DEFINITION_PATCH_KEYS.join(', ')}`,
    }));
  if (!Object.hasOwn(patch, 'steps')) return problems;
  if (!isPlainObject(patch.steps)) {
    problems.push({
      path: [...path, 'steps'],
      message: 'must be an object keyed by step id, e.g. { fetch: { config: { url: "…" } }, old: null } (not a list)',
    });
    return problems;
  }
  for (const [id, change] of Object.entries(patch.steps)) {
    if (change !== null && !isPlainObject(change)) {
      problems.push({
        path: [...path, 'steps', id],
        message: 'must be an object (adds or updates the step) or null (removes it)',
        stepId: id,
      });
    } else if (change && change.id != null && change.id !== id) {
      problems.push({
        path: [...path, 'steps', id, 'id'],
        message: `Steps cannot be renamed by a patch: set '${id}' to null and add the step under its new id`,
        stepId: id,
      });
    }
  }
  return problems;
}

/** Objects merge recursively; anything else (arrays included) replaces. null removes a key. */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(base) ? { ...base } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = deepMerge(result[key], value);
  }
  return result;
}

function updateStep(current: StepDefinition, change: Record<string, unknown>): StepDefinition {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(change)) {
    if (key === 'id') continue;
    if (value === null) delete merged[key];
    else if (key === 'config') merged.config = deepMerge(current.config, value);
    else merged[key] = value; // dependsOn and every other field are replaced
  }
  return merged as unknown as StepDefinition;
}

export interface PatchResult {
  definition: WorkflowDefinition;
  /** Problems found while applying, with paths into the patch (e.g. removing a step that is not there). */
  problems: Problem[];
}

/** Applies a patch whose shape passed checkDefinitionPatch to a base definition. */
export function applyDefinitionPatch(base: WorkflowDefinition, patch: DefinitionPatch): PatchResult {
  const problems: Problem[] = [];
  let steps: StepDefinition[] = (Array.isArray(base.steps) ? base.steps : []).map((s) => ({ ...s }));
  const removed = new Set<string>();
  for (const [id, change] of Object.entries(patch.steps ?? {})) {
    const index = steps.findIndex((s) => s.id === id);
    if (change === null) {
      if (index < 0)
        problems.push({
          path: ['steps', id],
          message: `Cannot remove step '${id}': the base version has no such step`,
          stepId: id,
        });
      else removed.add(id);
    } else if (index < 0) {
      steps.push(deepMerge({ id }, { ...change, id }) as StepDefinition);
    } else {
      steps[index] = updateStep(steps[index]!, change);
    }
  }
  steps = steps.filter((s) => !removed.has(s.id));
  for (const step of steps) {
    if (!Array.isArray(step.dependsOn) || !step.dependsOn.some((d) => removed.has(d))) continue;
    const kept = step.dependsOn.filter((d) => !removed.has(d));
    if (kept.length) step.dependsOn = kept;
    else delete step.dependsOn;
  }
  const result: Record<string, unknown> = { ...base, steps };
  for (const key of DEFINITION_PATCH_KEYS.filter((k): k is ReplacedKey => k !== 'steps')) {
    if (!Object.hasOwn(patch, key) || patch[key] === undefined) continue;
    if (patch[key] === null) delete result[key];
    else result[key] = patch[key];
  }
  return { definition: result as unknown as WorkflowDefinition, problems };
}

/**
 * Problems of the patched definition carry paths into its steps array (steps.2.type); the
 * patch addresses steps by id, so point them at steps.<id>.type instead.
 */
export function toPatchPaths(problems: Problem[], definition: WorkflowDefinition): Problem[] {
  return problems.map((problem) => {
    const [head, index, ...rest] = problem.path;
    if (head !== 'steps' || index === undefined) return problem;
    const id = Array.isArray(definition.steps) ? definition.steps[Number(index)]?.id : undefined;
    return typeof id === 'string' ? { ...problem, path: ['steps', id, ...rest] } : problem;
  });
}
