// Evaluating a finished run's post-run checks, in order, inside the transaction that finishes
// it: expressions and attachment checks at once; check_prompt checks are recorded PENDING and
// judged by the model after the commit (judge.ts) — never a model call inside a transaction.
import type { Prisma } from '../generated/prisma/client.ts';
import { coerceError } from '../errors.ts';
import { evaluateExpression, renderTemplates } from '../engine/expressions.ts';
import { storedChecks, type StoredCheck } from './definition.ts';

type Tx = Prisma.TransactionClient;

export interface CheckResult {
  id: string;
  name: string;
  type: StoredCheck['type'];
  status: 'PASSED' | 'FAILED' | 'PENDING';
  passed: boolean;
  /** Why it failed (or passed, for a model's verdict). */
  reason?: string;
  expression?: string;
  error?: string;
  /** Attachment checks: the file names that matched, how many were expected and found. */
  matched?: string[];
  missing?: string[];
  expected?: number | null;
  found?: number;
  /** check_prompt: the model that judged and its verdict. */
  model?: string;
  verdict?: 'pass' | 'fail';
}

/** The value at `input.a.b` / `output.a.b` of the run. */
export function valueAt(reference: string, context: { input: unknown; output: unknown }): unknown {
  const [root, ...keys] = reference.split('.');
  let value: unknown = root === 'input' ? context.input : context.output;
  for (const key of keys)
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

function expectedCount(check: StoredCheck, context: { input: unknown; output: unknown }): number | null | string {
  if (check.expectedMatchCount != null) return check.expectedMatchCount;
  if (check.expectedMatchCountRef == null) return null;
  const value = valueAt(check.expectedMatchCountRef, context);
  const count = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0)
    return `${check.expectedMatchCountRef} is ${JSON.stringify(value) ?? 'missing'}, not a whole number`;
  return count;
}

async function attachmentCheck(
  check: StoredCheck,
  filenames: string[],
  context: Record<string, unknown> & { input: unknown; output: unknown },
): Promise<Omit<CheckResult, 'id' | 'name' | 'type'>> {
  const expected = expectedCount(check, context);
  if (typeof expected === 'string') return { status: 'FAILED', passed: false, reason: expected };
  const mode = check.fileTargetMode ?? 'exact';
  let wanted: string[] | null = null;
  let matched: string[];
  if (mode === 'regex') {
    const regex = new RegExp(check.fileNameRegex ?? '', 'u');
    matched = filenames.filter((name) => regex.test(name));
  } else {
    if (mode === 'loop') {
      const items = valueAt(check.loopInput ?? '', context);
      if (!Array.isArray(items)) return { status: 'FAILED', passed: false, reason: `${check.loopInput} is not a list` };
      wanted = [];
      for (const [index, item] of items.entries())
        wanted.push(String(await renderTemplates(check.loopItemFilenameTemplate ?? '', { ...context, item, index })));
    } else wanted = check.fileNames ?? [];
    const set = new Set(wanted);
    matched = filenames.filter((name) => set.has(name));
  }
  const missing = wanted ? wanted.filter((name) => !filenames.includes(name)) : [];
  const found = matched.length;
  const passed = expected !== null ? found === expected : wanted ? missing.length === 0 : found > 0;
  const reason = passed
    ? undefined
    : expected !== null
      ? `expected ${expected} matching attachment${expected === 1 ? '' : 's'}, found ${found}`
      : wanted
        ? `missing: ${missing.join(', ')}`
        : `no attachment matches /${check.fileNameRegex}/`;
  return {
    status: passed ? 'PASSED' : 'FAILED',
    passed,
    ...(reason ? { reason } : {}),
    matched,
    ...(wanted ? { missing } : {}),
    expected,
    found,
  };
}

export async function evaluateChecks(
  tx: Tx,
  run: { id: string },
  checksValue: unknown,
  context: Record<string, unknown> & { input: unknown; output: unknown },
): Promise<CheckResult[]> {
  const checks = storedChecks(checksValue);
  if (!checks.length) return [];
  const needsFiles = checks.some((check) => check.type === 'run_attachment_exists');
  const filenames = needsFiles
    ? (
        await tx.upload.findMany({
          where: { runId: run.id, kind: 'ATTACHMENT' },
          select: { filename: true },
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        })
      ).map((row) => row.filename)
    : [];
  const results: CheckResult[] = [];
  for (const check of checks) {
    const base = { id: check.id, name: check.name, type: check.type };
    try {
      if (check.type === 'expression') {
        const passed = Boolean(await evaluateExpression(check.expression ?? '', context));
        results.push({ ...base, expression: check.expression ?? '', status: passed ? 'PASSED' : 'FAILED', passed });
      } else if (check.type === 'run_attachment_exists') {
        results.push({ ...base, ...(await attachmentCheck(check, filenames, context)) });
      } else {
        results.push({ ...base, status: 'PENDING', passed: false });
      }
    } catch (error) {
      const message = coerceError(error).message;
      results.push({
        ...base,
        ...(check.expression ? { expression: check.expression } : {}),
        status: 'FAILED',
        passed: false,
        error: message,
        reason: message,
      });
    }
  }
  return results;
}
