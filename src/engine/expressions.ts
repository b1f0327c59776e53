// Expressions in workflow definitions are JSONata (https://jsonata.org): a query language over
// JSON with no access to code, the file system or the network (property lookups only see own
// properties, so `constructor`/`__proto__` lead nowhere). Compiled expressions are cached in a
// bounded LRU. Every evaluation runs under JSONata's own guardrails — a time budget, a
// recursion depth and a maximum sequence length — so a runaway expression fails the step
// instead of hanging or exhausting the engine. Evaluation is CPU-bound and never yields to the
// event loop while it runs, which is why the budgets are small.
import jsonata from 'jsonata';
import { REDACTED } from './redact.ts';

export type ExpressionContext = Record<string, unknown>;

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

/** Budgets per evaluation (JSONata checks them on every evaluation step). */
export const EXPRESSION_LIMITS = {
  /** Wall-clock time one expression may take. */
  timeoutMs: 1000,
  /** Nesting depth of evaluation (deep non-tail recursion). */
  maxDepth: 500,
  /** Longest sequence an expression may build (`[1..1e7]`, huge maps). */
  maxSequence: 1_000_000,
  /** Wall-clock time for all templates of one value rendered by renderTemplates. */
  renderBudgetMs: 5000,
} as const;

const CACHE_LIMIT = 1000;
const SOURCE_IN_MESSAGES = 200;

/**
 * JSONata's built-in functions (2.x), so validation can reject a misspelt `$uppercae(...)`
 * before a run fails on it. A unit test checks that every name is a real function.
 */
export const JSONATA_FUNCTIONS = new Set(
  (
    'sum count max min average string substring substringBefore substringAfter lowercase uppercase length trim pad match contains ' +
    'replace split join formatNumber formatBase formatInteger parseInteger number floor ceil round abs sqrt power random boolean not ' +
    'map zip filter single reduce sift keys lookup append exists spread merge reverse each error assert type sort shuffle distinct ' +
    'base64encode base64decode encodeUrlComponent encodeUrl decodeUrlComponent decodeUrl eval toMillis fromMillis clone now millis'
  ).split(' '),
);

const options = {
  timeout: EXPRESSION_LIMITS.timeoutMs,
  stack: EXPRESSION_LIMITS.maxDepth,
  sequence: EXPRESSION_LIMITS.maxSequence,
} as jsonata.JsonataOptions;
const cache = new Map<string, jsonata.Expression>();

/** Compiles (or takes from the LRU cache) one expression; throws JSONata's parse error. */
function compile(source: string): jsonata.Expression {
  const cached = cache.get(source);
  if (cached) {
    // Map keeps insertion order: re-inserting marks it most recently used.
    cache.delete(source);
    cache.set(source, cached);
    return cached;
  }
  const expression = jsonata(source, options);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(source, expression);
  return expression;
}

function describe(error: unknown): string {
  const e = error as { message?: string; position?: number };
  return `${e.message ?? String(error)}${typeof e.position === 'number' ? ` (at position ${e.position})` : ''}`;
}

function quoted(source: string): string {
  return JSON.stringify(source.length > SOURCE_IN_MESSAGES ? `${source.slice(0, SOURCE_IN_MESSAGES)}…` : source);
}

interface AstNode {
  type?: string;
  value?: unknown;
  position?: number;
  procedure?: AstNode;
  lhs?: AstNode;
  arguments?: AstNode[];
}

/** Calls of functions that are neither JSONata built-ins nor bound in the expression itself. */
function unknownFunction(ast: unknown): { name: string; position?: number } | null {
  const called: { name: string; position?: number }[] = [];
  const bound = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const n = node as AstNode;
    if ((n.type === 'function' || n.type === 'partial') && n.procedure?.type === 'variable')
      called.push({ name: String(n.procedure.value), position: n.procedure.position });
    if (n.type === 'bind' && n.lhs?.type === 'variable') bound.add(String(n.lhs.value));
    if (n.type === 'lambda')
      for (const arg of n.arguments ?? []) if (arg.type === 'variable') bound.add(String(arg.value));
    for (const child of Object.values(n)) if (child && typeof child === 'object') walk(child);
  };
  walk(ast);
  return called.find((c) => !JSONATA_FUNCTIONS.has(c.name) && !bound.has(c.name)) ?? null;
}

/**
 * Step ids an expression reads as `steps.<id>…` (plain names only; a computed lookup such as
 * steps[$x] cannot be known before the run). Empty when the expression does not parse.
 */
export function referencedSteps(source: string): string[] {
  let ast: unknown;
  try {
    ast = compile(source).ast();
  } catch {
    return [];
  }
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const n = node as AstNode & { steps?: AstNode[] };
    if (
      n.type === 'path' &&
      n.steps?.[0]?.type === 'name' &&
      n.steps[0].value === 'steps' &&
      n.steps[1]?.type === 'name'
    )
      found.add(String(n.steps[1].value));
    for (const child of Object.values(n)) if (child && typeof child === 'object') walk(child);
  };
  walk(ast);
  return [...found];
}

/** null when the expression parses, else a human message (with position). */
export function checkExpression(source: string): string | null {
  if (typeof source !== 'string' || source.trim() === '') return 'must be a non-empty expression';
  let expression: jsonata.Expression;
  try {
    expression = compile(source);
  } catch (error) {
    return describe(error);
  }
  const unknown = unknownFunction(expression.ast());
  if (unknown)
    return `Unknown function $${unknown.name}${typeof unknown.position === 'number' ? ` (at position ${unknown.position})` : ''}`;
  return null;
}

/**
 * Evaluates one JSONata expression against the context. Throws ExpressionError (message says
 * which expression and why) on failure or when evaluation exceeds a time/depth budget.
 * undefined results become null.
 */
export async function evaluateExpression(source: string, context: ExpressionContext): Promise<unknown> {
  let expression: jsonata.Expression;
  try {
    expression = compile(source);
  } catch (error) {
    throw new ExpressionError(`Invalid expression ${quoted(source)}: ${describe(error)}`, { cause: error });
  }
  let value: unknown;
  try {
    value = await expression.evaluate(context);
  } catch (error) {
    throw new ExpressionError(`Expression ${quoted(source)} failed: ${describe(error)}`, { cause: error });
  }
  return toJson(value) ?? null;
}

/**
 * Plain JSON out of a JSONata result: a fresh copy (nothing shared with the context), without
 * JSONata's sequence markers; functions and lambdas (which reference the whole evaluation
 * environment) become null, as do non-finite numbers.
 */
function toJson(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map((v) => toJson(v) ?? null);
  if (value && typeof value === 'object') {
    if ('_jsonata_lambda' in value || '_jsonata_function' in value) return null;
    return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, toJson(v)]])));
  }
  return value;
}

export interface TemplateMatch {
  /** Index of the opening `{{`. */
  start: number;
  /** Index just after the closing `}}`. */
  end: number;
  /** The expression between the braces, trimmed. */
  source: string;
}

/**
 * Index of the `}}` that closes a template whose expression starts at `from`. Braces and
 * quoted strings inside the expression are skipped, so `{{ {"a": {"b": 1}} }}` and
 * `{{ "}}" }}` work. When that scan finds no end (say an apostrophe in a broken expression),
 * the first plain `}}` closes it. -1 when there is none.
 */
function closingBraces(text: string, from: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0 && text[i + 1] === '}') return i;
      if (depth > 0) depth--;
    }
  }
  return text.indexOf('}}', from);
}

/** The `{{ expr }}` templates of one string, in order; `unclosedAt` is a `{{` that never closes. */
export function scanTemplates(text: string): { matches: TemplateMatch[]; unclosedAt: number | null } {
  const matches: TemplateMatch[] = [];
  for (let open = text.indexOf('{{'); open !== -1; ) {
    const close = closingBraces(text, open + 2);
    if (close === -1) return { matches, unclosedAt: open };
    matches.push({ start: open, end: close + 2, source: text.slice(open + 2, close).trim() });
    open = text.indexOf('{{', close + 2);
  }
  return { matches, unclosedAt: null };
}

/** True when the whole string is exactly one `{{ expr }}` (it then takes the value's type). */
export function isWholeTemplate(text: string): boolean {
  const { matches } = scanTemplates(text);
  return matches.length === 1 && matches[0]!.start === 0 && matches[0]!.end === text.length;
}

function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

async function renderString(text: string, context: ExpressionContext, deadline: number): Promise<unknown> {
  const { matches } = scanTemplates(text);
  if (matches.length === 0) return text;
  const evaluate = (source: string) => {
    if (Date.now() > deadline)
      throw new ExpressionError(
        `Templates took longer than ${EXPRESSION_LIMITS.renderBudgetMs} ms to render (at ${quoted(source)})`,
      );
    return evaluateExpression(source, context);
  };
  if (matches.length === 1 && matches[0]!.start === 0 && matches[0]!.end === text.length)
    return evaluate(matches[0]!.source);
  let result = '';
  let last = 0;
  for (const match of matches) {
    result += text.slice(last, match.start) + asText(await evaluate(match.source));
    last = match.end;
  }
  return result + text.slice(last);
}

/**
 * The context with its `secrets` behind a getter that notes every read. JSONata reaches a value
 * only by reading it — a path (`secrets.KEY`), the root (`$`, `$$`), a wildcard, `$string($)`,
 * `$lookup`, `$sift`… — so "was it read" is exact, whatever the expression does to the value after.
 */
function watchSecrets(context: ExpressionContext) {
  let read = false;
  if (!Object.hasOwn(context, 'secrets')) return { context, read: () => false, reset: () => undefined };
  const secrets = context.secrets;
  const watched: ExpressionContext = { ...context };
  Object.defineProperty(watched, 'secrets', {
    enumerable: true,
    get() {
      read = true;
      return secrets;
    },
  });
  return {
    context: watched,
    read: () => read,
    reset: () => {
      read = false;
    },
  };
}

interface Rendered {
  /** What the step executes with. */
  value: unknown;
  /** What is recorded: every string whose templates read a secret, replaced as a whole. */
  recorded: unknown;
}

// Sequential on purpose: evaluation is CPU-bound, so running templates "in parallel" gains
// nothing and would let the deadline check run only after all of them had started.
async function render(value: unknown, watch: ReturnType<typeof watchSecrets>, deadline: number): Promise<Rendered> {
  if (typeof value === 'string') {
    watch.reset();
    const rendered = await renderString(value, watch.context, deadline);
    return { value: rendered, recorded: watch.read() ? REDACTED : rendered };
  }
  if (Array.isArray(value)) {
    const out: Rendered = { value: [], recorded: [] };
    for (const v of value) {
      const item = await render(v, watch, deadline);
      (out.value as unknown[]).push(item.value);
      (out.recorded as unknown[]).push(item.recorded);
    }
    return out;
  }
  if (value && typeof value === 'object') {
    const real: [string, unknown][] = [];
    const recorded: [string, unknown][] = [];
    for (const [k, v] of Object.entries(value)) {
      const item = await render(v, watch, deadline);
      real.push([k, item.value]);
      recorded.push([k, item.recorded]);
    }
    return { value: Object.fromEntries(real), recorded: Object.fromEntries(recorded) };
  }
  return { value, recorded: value };
}

/**
 * Deep-copies `value`, replacing `{{ expr }}` in every string: a string that is exactly one
 * `{{ expr }}` takes the value itself (any JSON type); otherwise each occurrence is replaced by
 * its text (objects as JSON). A `{{` without a closing `}}` stays as it is (validation refuses it).
 */
export async function renderTemplates(value: unknown, context: ExpressionContext): Promise<unknown> {
  return (await renderTemplatesForRecord(value, context)).value;
}

/**
 * renderTemplates, plus the copy to record (step inputs, events, run outputs): a value whose
 * templates read `secrets` is recorded as REDACTED as a whole, not only where the secret's own
 * text appears — `$uppercase(secrets.X)`, `$base64encode(…)` or `$substring(…)` of a secret
 * change its text, so scrubbing the text alone cannot catch them.
 */
export async function renderTemplatesForRecord(value: unknown, context: ExpressionContext): Promise<Rendered> {
  return render(value, watchSecrets(context), Date.now() + EXPRESSION_LIMITS.renderBudgetMs);
}

type Path = (string | number)[];

function eachString(value: unknown, path: Path, visit: (text: string, path: Path) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) eachString(v, [...path, i], visit);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) eachString(v, [...path, k], visit);
}

/** Every `{{ expr }}` found in a value, with its path (for validation). */
export function findTemplates(value: unknown): { path: Path; source: string }[] {
  const found: { path: Path; source: string }[] = [];
  eachString(value, [], (text, path) => {
    if (text.includes('{{')) for (const m of scanTemplates(text).matches) found.push({ path, source: m.source });
  });
  return found;
}

/** Paths of the strings in a value that have a `{{` without a closing `}}` (for validation). */
export function findUnclosedTemplates(value: unknown): Path[] {
  const found: Path[] = [];
  eachString(value, [], (text, path) => {
    if (text.includes('{{') && scanTemplates(text).unclosedAt !== null) found.push(path);
  });
  return found;
}
