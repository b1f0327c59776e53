// Expressions in workflow definitions are JSONata (https://jsonata.org): a query language over
// JSON with no access to code, the file system or the network. Compiled expressions are cached;
// every evaluation runs under a time and recursion budget so a runaway expression fails the
// step instead of hanging the engine.
import jsonata from 'jsonata';

export type ExpressionContext = Record<string, unknown>;

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

const TIMEOUT_MS = 1000;
const MAX_DEPTH = 200;
const CACHE_LIMIT = 2000;
const TEMPLATE = /\{\{([\s\S]+?)\}\}/g;
const WHOLE_TEMPLATE = /^\{\{([\s\S]+?)\}\}$/;

const cache = new Map<string, jsonata.Expression>();

function compile(source: string): jsonata.Expression {
  let expression = cache.get(source);
  if (!expression) {
    expression = jsonata(source, { timeout: TIMEOUT_MS, stack: MAX_DEPTH } as jsonata.JsonataOptions);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(source, expression);
  }
  return expression;
}

function describe(error: unknown): string {
  const e = error as { message?: string; position?: number; token?: string };
  return `${e.message ?? String(error)}${typeof e.position === 'number' ? ` (at position ${e.position})` : ''}`;
}

/** null when the expression parses, else a human message (with position). */
export function checkExpression(source: string): string | null {
  if (typeof source !== 'string' || source.trim() === '') return 'must be a non-empty expression';
  try {
    compile(source);
    return null;
  } catch (error) {
    return describe(error);
  }
}

/** Evaluates one expression against the context. undefined ("no match") becomes null. */
export async function evaluateExpression(source: string, context: ExpressionContext): Promise<unknown> {
  let expression: jsonata.Expression;
  try {
    expression = compile(source);
  } catch (error) {
    throw new ExpressionError(`Invalid expression ${JSON.stringify(source)}: ${describe(error)}`);
  }
  try {
    const value = await expression.evaluate(context);
    return value === undefined ? null : normalise(value);
  } catch (error) {
    throw new ExpressionError(`Expression ${JSON.stringify(source)} failed: ${describe(error)}`);
  }
}

/** JSONata returns arrays with extra markers (sequence flags); give callers plain JSON. */
function normalise(value: unknown): unknown {
  if (typeof value === 'function') return null;
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  return value;
}

function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

async function renderString(text: string, context: ExpressionContext): Promise<unknown> {
  const whole = WHOLE_TEMPLATE.exec(text);
  if (whole && !whole[1]!.includes('}}')) return evaluateExpression(whole[1]!.trim(), context);
  let result = '';
  let last = 0;
  for (const match of text.matchAll(TEMPLATE)) {
    result += text.slice(last, match.index) + asText(await evaluateExpression(match[1]!.trim(), context));
    last = match.index! + match[0].length;
  }
  return result + text.slice(last);
}

/**
 * Deep-copies `value`, replacing `{{ expr }}` in every string: a string that is exactly one
 * `{{ expr }}` takes the value itself (any JSON type); otherwise each occurrence is replaced by
 * its text (objects as JSON).
 */
export async function renderTemplates(value: unknown, context: ExpressionContext): Promise<unknown> {
  if (typeof value === 'string') return value.includes('{{') ? renderString(value, context) : value;
  if (Array.isArray(value)) return Promise.all(value.map((v) => renderTemplates(v, context)));
  if (value && typeof value === 'object') {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await renderTemplates(v, context)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}

/** Every `{{ expr }}` found in a value, with its path (for validation). */
export function findTemplates(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; source: string }[] {
  if (typeof value === 'string') return [...value.matchAll(TEMPLATE)].map((m) => ({ path, source: m[1]!.trim() }));
  if (Array.isArray(value)) return value.flatMap((v, i) => findTemplates(v, [...path, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => findTemplates(v, [...path, k]));
  return [];
}
