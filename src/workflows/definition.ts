// The shape of a workflow definition (docs/definition.md) and its validation. Every mutation
// that stores or runs a definition validates it here first and stores nothing when there is any
// problem. Validation reports every problem at once, each with a path from the definition's
// root and the step it concerns.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { checkExpression, findTemplates } from '../engine/expressions.ts';
import type { Problem } from '../errors.ts';
import { validateStepConfig } from './step-configs.ts';

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

export const MAX_STEPS = 500;
const STEP_ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const TOP_LEVEL_KEYS = ['steps', 'inputSchema', 'outputSchema', 'output', 'maxParallelSteps'];
const STEP_KEYS = ['id', 'type', 'name', 'config', 'dependsOn', 'when', 'retry', 'timeoutSeconds'];
const RETRY_KEYS = ['attempts', 'backoffSeconds', 'maxBackoffSeconds'];

const schemaCompiler = new Ajv2020({ allErrors: true, strict: false });
schemaCompiler.addKeyword({ keyword: 'sensitive', schemaType: 'boolean' });

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function unknownKeys(value: Record<string, unknown>, known: string[], path: (string | number)[], stepId: string | null): Problem[] {
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => {
      const closest = known.map((k) => [k, levenshtein(key.toLowerCase(), k.toLowerCase())] as const).sort((x, y) => x[1] - y[1])[0];
      const hint = closest && closest[1] <= 3 ? `; did you mean '${closest[0]}'?` : `; known fields: ${known.join(', ')}`;
      return { path: [...path, key], message: `Unknown field '${key}'${hint}`, stepId };
    });
}

function numberInRange(value: unknown, min: number, max: number, integer: boolean): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
}

function expressionProblem(source: unknown, path: (string | number)[], stepId: string | null, what: string): Problem[] {
  if (typeof source !== 'string') return [{ path, message: `${what} must be an expression string`, stepId }];
  const error = checkExpression(source);
  return error ? [{ path, message: `Invalid ${what}: ${error}`, stepId }] : [];
}

function templateProblems(value: unknown, path: (string | number)[], stepId: string | null): Problem[] {
  return findTemplates(value).flatMap((t) => {
    const error = checkExpression(t.source);
    return error ? [{ path: [...path, ...t.path], message: `Invalid expression {{ ${t.source} }}: ${error}`, stepId }] : [];
  });
}

function jsonSchemaProblem(schema: unknown, path: (string | number)[]): Problem[] {
  if (schema === undefined) return [];
  if (!isPlainObject(schema)) return [{ path, message: 'must be a JSON Schema object' }];
  try {
    schemaCompiler.compile(schema);
    return [];
  } catch (error) {
    return [{ path, message: `is not a valid JSON Schema: ${(error as Error).message}` }];
  }
}

function validateStep(step: Record<string, unknown>, index: number): Problem[] {
  const path = ['steps', index];
  const stepId = typeof step.id === 'string' ? step.id : null;
  const problems: Problem[] = unknownKeys(step, STEP_KEYS, path, stepId);
  if (typeof step.id !== 'string' || !STEP_ID.test(step.id)) {
    problems.push({ path: [...path, 'id'], message: 'must be a string of letters, digits, _ or - starting with a letter (at most 64 characters)', stepId });
  }
  if (step.name !== undefined && (typeof step.name !== 'string' || step.name.length > 200)) problems.push({ path: [...path, 'name'], message: 'must be a string of at most 200 characters', stepId });
  const typeKnown = STEP_TYPES.includes(step.type as StepType);
  if (!typeKnown) problems.push({ path: [...path, 'type'], message: `Unknown step type ${JSON.stringify(step.type)}; expected one of ${STEP_TYPES.join(', ')}`, stepId });
  if (step.config === undefined && typeKnown) problems.push({ path: [...path, 'config'], message: 'is required', stepId });
  else if (step.config !== undefined && !isPlainObject(step.config)) problems.push({ path: [...path, 'config'], message: 'must be an object', stepId });
  else if (typeKnown) {
    problems.push(...validateStepConfig(step.type as StepType, step.config, [...path, 'config'], stepId));
    const config = (step.config ?? {}) as Record<string, unknown>;
    if (step.type === 'condition') problems.push(...expressionProblem(config.expression, [...path, 'config', 'expression'], stepId, 'condition expression'));
    if (step.type === 'loop') {
      problems.push(...expressionProblem(config.items, [...path, 'config', 'items'], stepId, 'loop items expression'));
      problems.push(...templateProblems((config.step as { config?: unknown } | undefined)?.config, [...path, 'config', 'step', 'config'], stepId));
    } else if (step.type !== 'condition') {
      problems.push(...templateProblems(config, [...path, 'config'], stepId));
    }
  }
  if (step.dependsOn !== undefined && (!Array.isArray(step.dependsOn) || !step.dependsOn.every((d) => typeof d === 'string'))) {
    problems.push({ path: [...path, 'dependsOn'], message: 'must be a list of step ids', stepId });
  }
  if (step.when !== undefined) problems.push(...expressionProblem(step.when, [...path, 'when'], stepId, '`when` expression'));
  if (step.retry !== undefined) {
    if (!isPlainObject(step.retry)) problems.push({ path: [...path, 'retry'], message: 'must be an object { attempts, backoffSeconds, maxBackoffSeconds }', stepId });
    else {
      problems.push(...unknownKeys(step.retry, RETRY_KEYS, [...path, 'retry'], stepId));
      if (step.retry.attempts !== undefined && !numberInRange(step.retry.attempts, 1, 20, true)) problems.push({ path: [...path, 'retry', 'attempts'], message: 'must be an integer from 1 to 20', stepId });
      for (const key of ['backoffSeconds', 'maxBackoffSeconds'] as const) {
        if (step.retry[key] !== undefined && !numberInRange(step.retry[key], 0, 86_400, false)) problems.push({ path: [...path, 'retry', key], message: 'must be a number of seconds from 0 to 86400', stepId });
      }
    }
  }
  if (step.timeoutSeconds !== undefined && !numberInRange(step.timeoutSeconds, 0.001, 86_400, false)) problems.push({ path: [...path, 'timeoutSeconds'], message: 'must be a number of seconds from 0.001 to 86400', stepId });
  return problems;
}

/** Every dependency cycle once, as the list of step ids around it (first id repeated at the end). */
function findCycles(steps: { id: string; dependsOn: string[] }[]): string[][] {
  const deps = new Map(steps.map((s) => [s.id, s.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const stack: string[] = [];
  const visit = (id: string) => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue;
      if (state.get(dep) === 'visiting') {
        const cycle = stack.slice(stack.indexOf(dep));
        const key = [...cycle].sort().join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          // Read "→" as "depends on": a → b → a.
          cycles.push([...cycle, cycle[0]!]);
        }
      } else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const step of steps) if (!state.has(step.id)) visit(step.id);
  return cycles;
}

/** Every problem of a definition; paths are relative to the definition (callers prefix theirs). */
export function validateDefinition(definition: unknown): Problem[] {
  if (!isPlainObject(definition)) return [{ path: [], message: 'must be a JSON object with a "steps" array' }];
  const problems: Problem[] = unknownKeys(definition, TOP_LEVEL_KEYS, [], null);
  if (!Array.isArray(definition.steps)) return [...problems, { path: ['steps'], message: 'must be an array of steps' }];
  if (definition.steps.length === 0) problems.push({ path: ['steps'], message: 'must contain at least one step' });
  if (definition.steps.length > MAX_STEPS) problems.push({ path: ['steps'], message: `must contain at most ${MAX_STEPS} steps (got ${definition.steps.length})` });

  const indexOf = new Map<string, number>();
  definition.steps.forEach((step, index) => {
    if (!isPlainObject(step)) {
      problems.push({ path: ['steps', index], message: 'must be an object' });
      return;
    }
    problems.push(...validateStep(step, index));
    if (typeof step.id === 'string') {
      if (indexOf.has(step.id)) problems.push({ path: ['steps', index, 'id'], message: `Duplicate step id '${step.id}'`, stepId: step.id as string });
      else indexOf.set(step.id, index);
    }
  });

  const graph: { id: string; dependsOn: string[] }[] = [];
  definition.steps.forEach((step, index) => {
    if (!isPlainObject(step) || typeof step.id !== 'string' || indexOf.get(step.id) !== index) return;
    const id = step.id;
    const dependsOn = Array.isArray(step.dependsOn) ? step.dependsOn.filter((d): d is string => typeof d === 'string') : [];
    dependsOn.forEach((dep, i) => {
      if (dep === id) problems.push({ path: ['steps', index, 'dependsOn', i], message: `Step '${id}' depends on itself`, stepId: id });
      else if (!indexOf.has(dep)) problems.push({ path: ['steps', index, 'dependsOn', i], message: `Step '${id}' depends on '${dep}' which doesn't exist`, stepId: id });
    });
    graph.push({ id, dependsOn: dependsOn.filter((d) => d !== id) });
  });
  for (const cycle of findCycles(graph)) {
    problems.push({ path: ['steps', indexOf.get(cycle[0]!)!, 'dependsOn'], message: `Cycle detected: ${cycle.join(' → ')}`, stepId: cycle[0]! });
  }

  problems.push(...jsonSchemaProblem(definition.inputSchema, ['inputSchema']));
  problems.push(...jsonSchemaProblem(definition.outputSchema, ['outputSchema']));
  if (definition.output !== undefined) problems.push(...templateProblems(definition.output, ['output'], null));
  if (definition.maxParallelSteps !== undefined && !numberInRange(definition.maxParallelSteps, 1, 100, true)) {
    problems.push({ path: ['maxParallelSteps'], message: 'must be an integer from 1 to 100' });
  }
  return problems;
}
