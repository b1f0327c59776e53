// The shape of a workflow definition (docs/definition.md) and its validation. Every mutation
// that stores or runs a definition validates it here first and stores nothing when there is any
// problem. Validation reports every problem at once, each with a path from the definition's
// root and the step it concerns. It runs on every save, so everything it can prepare (the step
// config schemas, compiled expressions) is prepared once and reused.
import { createAjv } from '../ajv.ts';
import {
  checkExpression,
  findTemplates,
  findUnclosedTemplates,
  isWholeTemplate,
  referencedSteps,
} from '../engine/expressions.ts';
import type { Problem } from '../errors.ts';
import { waitExpressions, waitReferenceProblems } from './wait-config.ts';
import { closestName, unknownFieldMessage, validateRetry, validateStepConfig } from './step-configs.ts';
import { timeoutSecondsSchema } from './step-config-schemas.ts';
import { STEP_TYPES, type StepType } from './step-types.ts';
import { isPlainObject } from '../json.ts';
import { coerceError } from '../errors.ts';

/** Retries of a failed attempt: exponential backoff with full jitter (src/engine/retry.ts). */
export interface RetryDefinition {
  /** Attempts in all, 1–20 (default 1 = no retry). */
  attempts?: number;
  /** Base delay in seconds (default 1), doubled per retry. */
  backoffSeconds?: number;
  /** Longest delay in seconds (default 300). */
  maxBackoffSeconds?: number;
}

/** A JSON Schema (draft 2020-12) object. */
export type JsonSchema = Record<string, unknown>;

export interface StepDefinition {
  id: string;
  type: StepType;
  /** Display name, at most 200 characters. */
  name?: string;
  /** Type-specific settings (step-configs.ts); strings may hold `{{ }}` templates. */
  config: Record<string, unknown>;
  /** Steps that must finish first. */
  dependsOn?: string[];
  /** JSONata expression evaluated just before the step would start; false → SKIPPED. */
  when?: string;
  retry?: RetryDefinition;
  /** Per attempt, 0.001–86400 (default 300; wait steps have none). */
  timeoutSeconds?: number;
}

export interface WorkflowDefinition {
  steps: StepDefinition[];
  /** Validates the run input (always a JSON object). */
  inputSchema?: JsonSchema;
  /** Validates the run output. */
  outputSchema?: JsonSchema;
  /** Template computing the run output; default: the final steps' outputs by step id. */
  output?: unknown;
  /** How many ready steps of one run may run at once, 1–100 (default 10). */
  maxParallelSteps?: number;
}

type Path = (string | number)[];

export const MAX_STEPS = 500;
export const MAX_PARALLEL_STEPS = 100;
export const STEP_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_STEP_NAME = 200;
/** Beyond this many cycles, fixing the ones listed comes first. */
const MAX_CYCLES_REPORTED = 20;
const TOP_LEVEL_KEYS = ['steps', 'inputSchema', 'outputSchema', 'output', 'maxParallelSteps'];
const STEP_KEYS = ['id', 'type', 'name', 'config', 'dependsOn', 'when', 'retry', 'timeoutSeconds'];

function unknownKeys(value: Record<string, unknown>, known: string[], path: Path, stepId: string | null): Problem[] {
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => ({ path: [...path, key], message: unknownFieldMessage(key, known), stepId }));
}

// ── Expressions ──────────────────────────────────────────────────────────────────────────

/** A field whose whole string is one expression (`when`, condition.expression, loop.items). */
function expressionProblems(source: unknown, path: Path, stepId: string | null, what: string): Problem[] {
  if (typeof source !== 'string') return [{ path, message: `${what} must be an expression string`, stepId }];
  const error = checkExpression(source);
  if (!error) return [];
  // A common slip: templating a field that already is an expression.
  const hint = isWholeTemplate(source.trim()) ? ' (this field is an expression already: write it without {{ }})' : '';
  return [{ path, message: `Invalid ${what}: ${error}${hint}`, stepId }];
}

/** Every `{{ }}` template inside a value (config, output). */
function templateProblems(value: unknown, path: Path, stepId: string | null): Problem[] {
  const problems: Problem[] = [];
  for (const t of findTemplates(value)) {
    const error = checkExpression(t.source);
    if (error)
      problems.push({ path: [...path, ...t.path], message: `Invalid expression {{ ${t.source} }}: ${error}`, stepId });
  }
  for (const at of findUnclosedTemplates(value)) {
    problems.push({
      path: [...path, ...at],
      message: "'{{' has no closing '}}' (to write a literal '{{', use {{ \"{{\" }})",
      stepId,
    });
  }
  return problems;
}

/** Expressions in a step's config: whole-expression fields, and templates everywhere else. */
function configExpressionProblems(
  type: StepType,
  config: Record<string, unknown>,
  path: Path,
  stepId: string | null,
): Problem[] {
  switch (type) {
    case 'condition':
      return config.expression === undefined
        ? []
        : expressionProblems(config.expression, [...path, 'expression'], stepId, 'condition expression');
    case 'loop': {
      const inner = isPlainObject(config.step) ? config.step.config : undefined;
      return [
        ...(config.items === undefined
          ? []
          : expressionProblems(config.items, [...path, 'items'], stepId, 'loop items expression')),
        ...templateProblems(inner, [...path, 'step', 'config'], stepId),
      ];
    }
    case 'wait':
      return [
        ...waitExpressions(config, path).flatMap((e) => expressionProblems(e.source, e.path, stepId, e.what)),
        ...templateProblems(config, path, stepId),
      ];
    default:
      return templateProblems(config, path, stepId);
  }
}

// ── JSON Schemas (inputSchema, outputSchema) ─────────────────────────────────────────────

/** Warnings ajv logs while compiling (e.g. an unknown format): collected as problems. */
let compileWarnings: string[] = [];
// addUsedSchema: false — a schema with an `$id` must be checkable on every save, not only the
// first (ajv would otherwise remember the id and refuse it as a duplicate next time).
const schemaChecker = createAjv({
  allErrors: true,
  strict: false,
  addUsedSchema: false,
  logger: {
    log: () => undefined,
    warn: (...args: unknown[]) => void compileWarnings.push(args.map(String).join(' ')),
    error: () => undefined,
  },
});
schemaChecker.addKeyword({ keyword: 'sensitive', schemaType: 'boolean' });

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

function pointerToSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function jsonSchemaProblems(schema: unknown, path: Path, mustDescribeObject: boolean): Problem[] {
  if (schema === undefined) return [];
  if (!isPlainObject(schema)) return [{ path, message: 'must be a JSON Schema object' }];
  if (schema.$schema !== undefined && String(schema.$schema).replace(/#$/, '') !== DRAFT_2020_12) {
    return [
      {
        path: [...path, '$schema'],
        message: `must be ${DRAFT_2020_12} (or left out): Weft checks JSON Schema draft 2020-12`,
      },
    ];
  }
  let metaValid: boolean;
  try {
    metaValid = schemaChecker.validateSchema(schema) as boolean;
  } catch (error) {
    // ajv throws rather than reports for a few malformed schemas
    return [{ path, message: `is not a valid JSON Schema: ${coerceError(error).message}` }];
  }
  if (!metaValid) {
    // Report the first complaint per place (the meta-schema's anyOf adds several per place).
    const seen = new Set<string>();
    return (schemaChecker.errors ?? []).flatMap((e) => {
      if (seen.has(e.instancePath)) return [];
      seen.add(e.instancePath);
      const at = pointerToSegments(e.instancePath);
      const message =
        e.keyword === 'enum'
          ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
          : (e.message ?? 'is invalid');
      return [{ path: [...path, ...at], message: `is not a valid JSON Schema: ${message}` }];
    });
  }
  compileWarnings = [];
  // ajv caches every compiled schema object: compile a shallow copy and remove it afterwards,
  // so the checker does not keep every schema it has ever seen. Without its `$id`, because
  // removeSchema also unregisters that id — which might name one of ajv's meta-schemas.
  const copy: Record<string, unknown> = { ...schema };
  try {
    schemaChecker.compile(copy);
  } catch (error) {
    return [{ path, message: `is not a valid JSON Schema: ${coerceError(error).message}` }];
  } finally {
    delete copy.$id;
    schemaChecker.removeSchema(copy);
  }
  const problems: Problem[] = [...new Set(compileWarnings)].map((warning) => {
    // 'unknown format "emial" ignored in schema at path "#/properties/e"'
    const format = /^unknown format "(.*)" ignored in schema at path "#(.*)"$/.exec(warning);
    if (!format) return { path, message: `is not a valid JSON Schema: ${warning}` };
    return {
      path: [...path, ...pointerToSegments(format[2]!), 'format'],
      message: `Unknown format ${JSON.stringify(format[1])}`,
    };
  });
  const type = schema.type;
  if (
    mustDescribeObject &&
    type !== undefined &&
    type !== 'object' &&
    !(Array.isArray(type) && type.includes('object'))
  ) {
    problems.push({ path: [...path, 'type'], message: "must be 'object': the run input is always a JSON object" });
  }
  return problems;
}

// ── Steps ────────────────────────────────────────────────────────────────────────────────

function numberInRange(value: unknown, min: number, max: number, integer: boolean): boolean {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= min &&
    value <= max &&
    (!integer || Number.isInteger(value))
  );
}

function typeProblems(type: unknown, path: Path, stepId: string | null): Problem[] {
  if (STEP_TYPES.includes(type as StepType)) return [];
  const known = `one of ${STEP_TYPES.join(', ')}`;
  if (type === undefined) return [{ path, message: `is required: ${known}`, stepId }];
  const closest = typeof type === 'string' ? closestName(type, STEP_TYPES) : null;
  return [
    {
      path,
      message: `Unknown step type ${JSON.stringify(type)}; expected ${known}${closest ? ` (did you mean '${closest}'?)` : ''}`,
      stepId,
    },
  ];
}

function validateStep(step: Record<string, unknown>, index: number): Problem[] {
  const path = ['steps', index];
  const stepId = typeof step.id === 'string' ? step.id : null;
  const problems: Problem[] = unknownKeys(step, STEP_KEYS, path, stepId);
  if (step.id === undefined) problems.push({ path: [...path, 'id'], message: 'is required', stepId });
  else if (typeof step.id !== 'string' || !STEP_ID_PATTERN.test(step.id)) {
    problems.push({
      path: [...path, 'id'],
      message: `${JSON.stringify(step.id)} is not a valid step id: letters, digits, _ or -, starting with a letter, at most 64 characters`,
      stepId,
    });
  }
  if (step.name !== undefined && (typeof step.name !== 'string' || step.name.length > MAX_STEP_NAME)) {
    problems.push({
      path: [...path, 'name'],
      message: `must be a string of at most ${MAX_STEP_NAME} characters`,
      stepId,
    });
  }
  problems.push(...typeProblems(step.type, [...path, 'type'], stepId));
  const type = STEP_TYPES.includes(step.type as StepType) ? (step.type as StepType) : null;
  if (step.config === undefined) {
    if (type) problems.push({ path: [...path, 'config'], message: 'is required', stepId });
  } else if (!isPlainObject(step.config)) {
    problems.push({ path: [...path, 'config'], message: 'must be an object', stepId });
  } else if (type) {
    problems.push(...validateStepConfig(type, step.config, [...path, 'config'], stepId));
    problems.push(...configExpressionProblems(type, step.config, [...path, 'config'], stepId));
  }
  if (step.dependsOn !== undefined) {
    const dependsOn: unknown = step.dependsOn;
    if (!Array.isArray(dependsOn))
      problems.push({ path: [...path, 'dependsOn'], message: 'must be a list of step ids', stepId });
    else {
      const listed = new Set<string>();
      dependsOn.forEach((dep, i) => {
        if (typeof dep !== 'string')
          problems.push({ path: [...path, 'dependsOn', i], message: 'must be a step id (a string)', stepId });
        else if (listed.has(dep))
          problems.push({ path: [...path, 'dependsOn', i], message: `'${dep}' is listed more than once`, stepId });
        listed.add(dep as string);
      });
    }
  }
  if (step.when !== undefined)
    problems.push(...expressionProblems(step.when, [...path, 'when'], stepId, '`when` expression'));
  if (step.retry !== undefined) problems.push(...validateRetry(step.retry, [...path, 'retry'], stepId));
  if (
    step.timeoutSeconds !== undefined &&
    !numberInRange(
      step.timeoutSeconds,
      timeoutSecondsSchema.minimum as number,
      timeoutSecondsSchema.maximum as number,
      false,
    )
  ) {
    problems.push({
      path: [...path, 'timeoutSeconds'],
      message: `must be ${timeoutSecondsSchema.description}`,
      stepId,
    });
  }
  return problems;
}

// ── Dependencies ─────────────────────────────────────────────────────────────────────────

/** Strongly connected components with more than one step (Tarjan): where the cycles are. */
function tangledComponents(ids: string[], deps: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (id: string) => {
    index.set(id, index.size);
    low.set(id, index.get(id)!);
    stack.push(id);
    onStack.add(id);
    for (const dep of deps.get(id)!) {
      if (!index.has(dep)) {
        connect(dep);
        low.set(id, Math.min(low.get(id)!, low.get(dep)!));
      } else if (onStack.has(dep)) low.set(id, Math.min(low.get(id)!, index.get(dep)!));
    }
    if (low.get(id) !== index.get(id)) return;
    const component: string[] = [];
    for (let member = ''; member !== id; ) {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    }
    if (component.length > 1) components.push(component);
  };
  for (const id of ids) if (!index.has(id)) connect(id);
  return components;
}

/**
 * The elementary dependency cycles, each once, as step ids with the first repeated at the end
 * ("a → b → a": a depends on b, which depends on a). Only tangles (strongly connected
 * components) are searched. Each cycle starts at its step that comes first in the definition,
 * so it is found exactly once: from each step in order, only paths through later steps of its
 * tangle are followed. A dense tangle has exponentially many cycles, so the search is bounded
 * in count and in work (`complete` is false then) and every tangle gets at least one cycle.
 */
export function findCycles(
  steps: { id: string; dependsOn: string[] }[],
  limit = MAX_CYCLES_REPORTED,
): { cycles: string[][]; complete: boolean } {
  const order = new Map(steps.map((s, i) => [s.id, i]));
  const deps = new Map(steps.map((s) => [s.id, [...new Set(s.dependsOn)].filter((d) => order.has(d) && d !== s.id)]));
  const components = tangledComponents(
    steps.map((s) => s.id),
    deps,
  ).map((c) => c.sort((a, b) => order.get(a)! - order.get(b)!));
  components.sort((a, b) => order.get(a[0]!)! - order.get(b[0]!)!);
  const cycles: string[][] = [];
  let complete = true;
  for (const component of components) {
    const found: string[][] = [];
    let work = 20_000;
    let stopped = false;
    for (const start of component) {
      // Johnson's idea: search only the tangle `start` forms with the steps after it, so
      // paths that cannot lead back to it are never followed.
      const later = component.filter((id) => order.get(id)! >= order.get(start)!);
      const laterSet = new Set(later);
      const around = tangledComponents(
        later,
        new Map(later.map((id) => [id, deps.get(id)!.filter((d) => laterSet.has(d))])),
      ).find((c) => c.includes(start));
      if (!around) continue;
      const members = new Set(around);
      const path = [start];
      const onPath = new Set(path);
      const search = (id: string): void => {
        for (const dep of deps.get(id)!) {
          if (stopped || --work < 0 || cycles.length + found.length >= limit) {
            stopped = true;
            return;
          }
          if (dep === start) found.push([...path, start]);
          else if (members.has(dep) && !onPath.has(dep)) {
            path.push(dep);
            onPath.add(dep);
            search(dep);
            path.pop();
            onPath.delete(dep);
          }
        }
      };
      search(start);
      if (stopped) break;
    }
    if (found.length === 0) found.push(anyCycle(component[0]!, new Set(component), deps));
    cycles.push(...found);
    if (stopped) complete = false;
    if (cycles.length >= limit) return { cycles, complete: false };
  }
  return { cycles, complete };
}

/** Some cycle through a tangle: every member has a dependency inside it, so walking them repeats. */
function anyCycle(from: string, members: Set<string>, deps: Map<string, string[]>): string[] {
  const walk: string[] = [];
  let id = from;
  while (!walk.includes(id)) {
    walk.push(id);
    id = deps.get(id)!.find((d) => members.has(d))!;
  }
  return [...walk.slice(walk.indexOf(id)), id];
}

/** Every expression of a step (or of the definition's output), with its path. */
function expressionsOf(step: Record<string, unknown>, path: Path): { path: Path; source: string }[] {
  const config = isPlainObject(step.config) ? step.config : {};
  const sources = findTemplates(config).map((t) => ({ path: [...path, 'config', ...t.path], source: t.source }));
  if (typeof step.when === 'string') sources.push({ path: [...path, 'when'], source: step.when });
  if (step.type === 'condition' && typeof config.expression === 'string')
    sources.push({ path: [...path, 'config', 'expression'], source: config.expression });
  if (step.type === 'loop' && typeof config.items === 'string')
    sources.push({ path: [...path, 'config', 'items'], source: config.items });
  if (step.type === 'wait') sources.push(...waitExpressions(config, [...path, 'config']));
  return sources;
}

/** `steps.<id>` references to steps the definition does not have (a typo would otherwise read null at run time). */
function referenceProblems(
  definition: Record<string, unknown>,
  steps: unknown[],
  indexOf: Map<string, number>,
): Problem[] {
  const problems: Problem[] = [];
  const check = (sources: { path: Path; source: string }[], stepId: string | null) => {
    for (const { path, source } of sources) {
      for (const ref of referencedSteps(source)) {
        if (!indexOf.has(ref)) problems.push({ path, message: `Refers to step '${ref}', which doesn't exist`, stepId });
      }
    }
  };
  steps.forEach((step, index) => {
    if (isPlainObject(step)) check(expressionsOf(step, ['steps', index]), typeof step.id === 'string' ? step.id : null);
  });
  if (definition.output !== undefined)
    check(
      findTemplates(definition.output).map((t) => ({ path: ['output', ...t.path], source: t.source })),
      null,
    );
  return problems;
}

function dependencyProblems(steps: unknown[], indexOf: Map<string, number>): Problem[] {
  const problems: Problem[] = [];
  const graph: { id: string; dependsOn: string[] }[] = [];
  steps.forEach((step, index) => {
    if (!isPlainObject(step) || typeof step.id !== 'string' || indexOf.get(step.id) !== index) return;
    const id = step.id;
    const dependsOn = Array.isArray(step.dependsOn) ? step.dependsOn : [];
    dependsOn.forEach((dep, i) => {
      if (typeof dep !== 'string') return;
      if (dep === id)
        problems.push({
          path: ['steps', index, 'dependsOn', i],
          message: `Step '${id}' depends on itself`,
          stepId: id,
        });
      else if (!indexOf.has(dep))
        problems.push({
          path: ['steps', index, 'dependsOn', i],
          message: `Step '${id}' depends on '${dep}' which doesn't exist`,
          stepId: id,
        });
    });
    graph.push({ id, dependsOn: dependsOn.filter((d): d is string => typeof d === 'string') });
  });
  const { cycles, complete } = findCycles(graph);
  for (const cycle of cycles) {
    problems.push({
      path: ['steps', indexOf.get(cycle[0]!)!, 'dependsOn'],
      message: `Cycle detected: ${cycle.join(' → ')}`,
      stepId: cycle[0]!,
    });
  }
  if (!complete)
    problems.push({
      path: ['steps'],
      message: `There may be more dependency cycles than the ${cycles.length} listed; fix these first`,
    });
  return problems;
}

// ── The definition ───────────────────────────────────────────────────────────────────────

/** Every problem of a definition; paths are relative to the definition (callers prefix theirs). */
export function validateDefinition(definition: unknown): Problem[] {
  if (!isPlainObject(definition)) return [{ path: [], message: 'must be a JSON object with a "steps" array' }];
  const problems: Problem[] = unknownKeys(definition, TOP_LEVEL_KEYS, [], null);
  const { steps } = definition;
  if (steps === undefined) problems.push({ path: ['steps'], message: 'is required: a list of steps' });
  else if (!Array.isArray(steps)) problems.push({ path: ['steps'], message: 'must be a list of steps' });
  else {
    if (steps.length === 0) problems.push({ path: ['steps'], message: 'must contain at least one step' });
    if (steps.length > MAX_STEPS)
      problems.push({ path: ['steps'], message: `must contain at most ${MAX_STEPS} steps (got ${steps.length})` });
    const indexOf = new Map<string, number>();
    steps.forEach((step, index) => {
      if (!isPlainObject(step)) {
        problems.push({ path: ['steps', index], message: 'must be an object', stepId: null });
        return;
      }
      problems.push(...validateStep(step, index));
      if (typeof step.id !== 'string') return;
      if (indexOf.has(step.id))
        problems.push({ path: ['steps', index, 'id'], message: `Duplicate step id '${step.id}'`, stepId: step.id });
      else indexOf.set(step.id, index);
    });
    problems.push(...dependencyProblems(steps, indexOf));
    problems.push(...referenceProblems(definition, steps, indexOf));
    problems.push(...waitReferenceProblems(steps));
  }
  problems.push(...jsonSchemaProblems(definition.inputSchema, ['inputSchema'], true));
  problems.push(...jsonSchemaProblems(definition.outputSchema, ['outputSchema'], false));
  if (definition.output !== undefined) problems.push(...templateProblems(definition.output, ['output'], null));
  if (
    definition.maxParallelSteps !== undefined &&
    !numberInRange(definition.maxParallelSteps, 1, MAX_PARALLEL_STEPS, true)
  ) {
    problems.push({ path: ['maxParallelSteps'], message: `must be an integer from 1 to ${MAX_PARALLEL_STEPS}` });
  }
  return problems;
}
