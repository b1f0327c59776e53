// The spellings of the reference API docs (the seeds), accepted and normalised to Weft's own
// before validation, so that a definition pasted from those docs works as it is, and stored
// versions and diffs only ever hold one form:
// - snake_case fields (`depends_on`, `timeout_seconds`, `agent_id`, `max_tokens`, …) become
//   their camelCase names wherever Weft has that field (the definition's top level, a step, its
//   retry, a step type's config and a loop's inner step). Fields that hold the user's own data
//   (http headers, bodies, query, env, context, payload) are never touched;
// - `name` at the top of a definition is the workflow's name: it is taken out and handed to the
//   caller (the workflow's name is not part of a version).
// Giving both spellings of one field is a problem (which one was meant?), reported at the
// snake_case one.
import type { Problem } from '../errors.ts';
import { isPlainObject } from '../json.ts';
import { STEP_TYPES, type StepType } from './step-types.ts';
import { configKeysOf } from './step-configs.ts';

type Path = (string | number)[];
type Fields = Record<string, unknown>;

const TOP_LEVEL = ['steps', 'inputSchema', 'outputSchema', 'output', 'maxParallelSteps'];
const STEP = ['id', 'type', 'name', 'config', 'dependsOn', 'when', 'retry', 'timeoutSeconds'];
const RETRY = ['attempts', 'backoffSeconds', 'maxBackoffSeconds'];
const LOOP_STEP = ['type', 'config', 'retry', 'timeoutSeconds'];

const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

export interface Normalised {
  /** The definition in canonical form (the input itself when nothing needed renaming). */
  definition: unknown;
  /** The workflow name given inside the definition (seed style), if any. */
  name?: unknown;
  problems: Problem[];
}

/** Renames the snake_case keys of `value` that stand for one of `known`; a new object when any was. */
function renameKeys(
  value: Fields,
  known: readonly string[],
  path: Path,
  stepId: string | null,
  problems: Problem[],
): Fields {
  let result: Fields | null = null;
  for (const key of Object.keys(value)) {
    if (!key.includes('_')) continue;
    const target = camel(key);
    if (target === key || !known.includes(target)) continue;
    if (Object.hasOwn(value, target)) {
      problems.push({
        path: [...path, key],
        message: `'${key}' is another spelling of '${target}', which is also given: keep one`,
        stepId,
      });
      // Dropped, so that validation does not report it a second time as an unknown field (the
      // problem above means nothing is saved anyway).
      result ??= { ...value };
      delete result[key];
      continue;
    }
    result ??= { ...value };
    // Keep the field order (diffs and stored JSON read as written).
    result = Object.fromEntries(Object.entries(result).map(([k, v]) => [k === key ? target : k, v]));
  }
  return result ?? value;
}

function normaliseConfig(
  type: unknown,
  config: unknown,
  path: Path,
  stepId: string | null,
  problems: Problem[],
): unknown {
  if (!isPlainObject(config) || !STEP_TYPES.includes(type as StepType)) return config;
  const renamed = renameKeys(config, configKeysOf(type as StepType), path, stepId, problems);
  if (type !== 'loop' || !isPlainObject(renamed.step)) return renamed;
  const inner = renameKeys(renamed.step, LOOP_STEP, [...path, 'step'], stepId, problems);
  const innerConfig = normaliseConfig(inner.type, inner.config, [...path, 'step', 'config'], stepId, problems);
  const innerRetry = isPlainObject(inner.retry)
    ? renameKeys(inner.retry, RETRY, [...path, 'step', 'retry'], stepId, problems)
    : inner.retry;
  if (inner === renamed.step && innerConfig === inner.config && innerRetry === inner.retry) return renamed;
  return {
    ...renamed,
    step: {
      ...inner,
      ...(inner.config === undefined ? {} : { config: innerConfig }),
      ...(inner.retry === undefined ? {} : { retry: innerRetry }),
    },
  };
}

/** One step's fields (also a patch's step change, whose type may come from the step it changes). */
export function normaliseStep(step: Fields, path: Path, problems: Problem[], knownType?: unknown): Fields {
  const stepId = typeof step.id === 'string' ? step.id : null;
  const renamed = renameKeys(step, STEP, path, stepId, problems);
  const config = normaliseConfig(renamed.type ?? knownType, renamed.config, [...path, 'config'], stepId, problems);
  const retry = isPlainObject(renamed.retry)
    ? renameKeys(renamed.retry, RETRY, [...path, 'retry'], stepId, problems)
    : renamed.retry;
  if (config === renamed.config && retry === renamed.retry) return renamed;
  return {
    ...renamed,
    ...(renamed.config === undefined ? {} : { config }),
    ...(renamed.retry === undefined ? {} : { retry }),
  };
}

/** A whole definition in canonical form; paths of the problems are relative to it. */
export function normaliseDefinition(definition: unknown): Normalised {
  if (!isPlainObject(definition)) return { definition, problems: [] };
  const problems: Problem[] = [];
  const { name, ...rest } = definition;
  if (name !== undefined && name !== null && typeof name !== 'string')
    problems.push({ path: ['name'], message: "must be a string (the workflow's name)" });
  const top = renameKeys(rest, TOP_LEVEL, [], null, problems);
  const steps: unknown = Array.isArray(top.steps)
    ? top.steps.map((s: unknown, i) => (isPlainObject(s) ? normaliseStep(s, ['steps', i], problems) : s))
    : top.steps;
  const changed =
    Object.hasOwn(definition, 'name') ||
    top !== rest ||
    (Array.isArray(top.steps) && (steps as unknown[]).some((s, i) => s !== (top.steps as unknown[])[i]));
  return {
    definition: changed ? { ...top, ...(top.steps === undefined ? {} : { steps }) } : definition,
    ...(Object.hasOwn(definition, 'name') ? { name } : {}),
    problems,
  };
}

/**
 * The workflow name of an input that may also carry one inside its definition: the input's own
 * field, else the definition's; both given and different is a problem.
 */
export function nameOf(
  inputName: string | null | undefined,
  definitionName: unknown,
): { name: string | null; problems: Problem[] } {
  if (definitionName === undefined || definitionName === null) return { name: inputName ?? null, problems: [] };
  if (typeof definitionName !== 'string') return { name: inputName ?? null, problems: [] }; // reported by normaliseDefinition
  if (inputName != null && inputName.trim() !== definitionName.trim()) {
    return {
      name: inputName,
      problems: [
        {
          path: ['input', 'definition', 'name'],
          message: `differs from input.name ('${inputName.trim()}'): give the workflow's name in one place`,
        },
      ],
    };
  }
  return { name: inputName ?? definitionName, problems: [] };
}

/**
 * A definition patch (patchWorkflow) in canonical form: its top-level fields and each step
 * change, whose config is mapped by the step's type (given in the change, else `typeOf` it).
 */
export function normalisePatch(
  patch: Fields,
  typeOf: (stepId: string) => unknown,
): { patch: Fields; problems: Problem[] } {
  const problems: Problem[] = [];
  const top = renameKeys(patch, TOP_LEVEL, [], null, problems);
  if (!isPlainObject(top.steps)) return { patch: top, problems };
  const steps = Object.fromEntries(
    Object.entries(top.steps).map(([id, change]) => [
      id,
      isPlainObject(change) ? normaliseStep({ id, ...change }, ['steps', id], problems, typeOf(id)) : change,
    ]),
  );
  // normaliseStep saw the id so that problems name the step; a change without one keeps none.
  for (const [id, change] of Object.entries(top.steps))
    if (isPlainObject(change) && !Object.hasOwn(change, 'id')) delete (steps[id] as Fields).id;
  return { patch: { ...top, steps }, problems };
}
