// Post-run checks as a workflow stores them (Workflow.postRunChecks, an ordered list) — the
// seed's fields in camelCase: JSONata `expression` checks, `run_attachment_exists` checks over
// the run's attachments, and `check_prompt` checks judged by a model. Checks are reconciled on
// save: a check sent with the id of an existing one updates it (keeping its id and createdAt),
// one without an id is new, and existing checks not sent are removed. Order is list order.
import { randomUUID } from 'node:crypto';
import { checkExpression } from '../engine/expressions.ts';
import type { Problem } from '../errors.ts';
import { isPlainObject } from '../json.ts';

export const CHECK_TYPES = ['expression', 'run_attachment_exists', 'check_prompt'] as const;
export type CheckType = (typeof CHECK_TYPES)[number];
export const FILE_TARGET_MODES = ['exact', 'regex', 'loop'] as const;
export type FileTargetMode = (typeof FILE_TARGET_MODES)[number];

export interface PostRunCheckInput {
  id?: string | null;
  name: string;
  type?: CheckType | null;
  description?: string | null;
  expression?: string | null;
  fileTargetMode?: FileTargetMode | null;
  fileNames?: string[] | null;
  fileNameRegex?: string | null;
  expectedMatchCount?: number | null;
  expectedMatchCountRef?: string | null;
  loopInput?: string | null;
  loopItemFilenameTemplate?: string | null;
  checkPrompt?: string | null;
  model?: string | null;
}

export interface StoredCheck extends Omit<PostRunCheckInput, 'id' | 'type'> {
  id: string;
  type: CheckType;
  order: number;
  createdAt: string;
  updatedAt: string;
}

const MAX_CHECKS = 50;
const MAX_TEXT = 10_000;

/** The type of a check: given, or `expression` for the checks saved before types existed. */
export function typeOf(check: Pick<PostRunCheckInput, 'type'>): CheckType {
  return check.type ?? 'expression';
}

/** A reference to a value of the run: `input.<path>` or `output.<path>` (dots between keys). */
export const VALUE_REF = /^(input|output)(\.[A-Za-z0-9_$-]+)+$/;

export function validateChecks(checks: PostRunCheckInput[], path: (string | number)[]): Problem[] {
  const problems: Problem[] = [];
  if (checks.length > MAX_CHECKS) problems.push({ path, message: `must have at most ${MAX_CHECKS} checks` });
  const ids = new Set<string>();
  checks.forEach((check, i) => {
    const at = (...rest: string[]) => [...path, i, ...rest];
    const problem = (field: string, message: string) => problems.push({ path: at(field), message });
    if (!check.name.trim() || check.name.length > 200) problem('name', 'must be 1–200 characters');
    if (check.id != null && (ids.has(check.id) || !check.id)) problem('id', 'must be unique within the list');
    if (check.id) ids.add(check.id);
    if (check.description != null && check.description.length > MAX_TEXT)
      problem('description', `must be at most ${MAX_TEXT} characters`);
    const type = typeOf(check);
    if (type === 'expression') {
      if (!check.expression) problem('expression', 'is required for an expression check');
      else {
        const error = checkExpression(check.expression);
        if (error) problem('expression', `invalid expression: ${error}`);
      }
    }
    if (type === 'run_attachment_exists') problems.push(...attachmentCheckProblems(check, at));
    if (type === 'check_prompt' && (!check.checkPrompt?.trim() || check.checkPrompt.length > MAX_TEXT))
      problem('checkPrompt', `is required for a check_prompt check (1–${MAX_TEXT} characters)`);
  });
  return problems;
}

function attachmentCheckProblems(check: PostRunCheckInput, at: (...rest: string[]) => (string | number)[]): Problem[] {
  const problems: Problem[] = [];
  const problem = (field: string, message: string) => problems.push({ path: at(field), message });
  const mode = check.fileTargetMode ?? 'exact';
  if (mode === 'exact' && !check.fileNames?.length) problem('fileNames', 'must name at least one file in exact mode');
  if (check.fileNames?.some((name) => !name || name.length > 255))
    problem('fileNames', 'must be file names of 1–255 characters');
  if (mode === 'regex') {
    if (!check.fileNameRegex) problem('fileNameRegex', 'is required in regex mode');
    else {
      try {
        new RegExp(check.fileNameRegex, 'u');
      } catch (error) {
        problem('fileNameRegex', `is not a valid regular expression: ${(error as Error).message}`);
      }
    }
  }
  if (mode === 'loop') {
    if (!check.loopInput || !VALUE_REF.test(check.loopInput))
      problem('loopInput', 'must name the list to loop over, e.g. input.regions or output.items');
    if (!check.loopItemFilenameTemplate?.trim())
      problem('loopItemFilenameTemplate', 'is required in loop mode, e.g. "report-{{ item }}.pdf"');
  }
  if (check.expectedMatchCount != null && (!Number.isInteger(check.expectedMatchCount) || check.expectedMatchCount < 0))
    problem('expectedMatchCount', 'must be a whole number, 0 or more');
  if (check.expectedMatchCount != null && check.expectedMatchCountRef != null)
    problem('expectedMatchCountRef', 'give expectedMatchCount or expectedMatchCountRef, not both');
  if (check.expectedMatchCountRef != null && !VALUE_REF.test(check.expectedMatchCountRef))
    problem('expectedMatchCountRef', 'must reference a value, e.g. input.expected or output.count');
  return problems;
}

/** The stored list after saving `checks` over `previous` (see the comment at the top). */
export function reconcileChecks(previous: unknown, checks: PostRunCheckInput[], now: Date = new Date()): StoredCheck[] {
  const before = new Map(storedChecks(previous).map((check) => [check.id, check]));
  const stamp = now.toISOString();
  return checks.map((check, order) => {
    const existing = check.id ? before.get(check.id) : undefined;
    const { id: _id, type, ...fields } = check;
    const kept = Object.fromEntries(Object.entries(fields).filter(([, value]) => value != null));
    return {
      ...kept,
      name: check.name,
      id: existing?.id ?? check.id ?? randomUUID(),
      type: typeOf({ type }),
      order,
      createdAt: existing?.createdAt ?? stamp,
      updatedAt: stamp,
    } as StoredCheck;
  });
}

/** The stored checks of a workflow (older rows: { name, expression } only). */
export function storedChecks(value: unknown): StoredCheck[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isPlainObject).map((check, order) => ({
    ...(check as unknown as StoredCheck),
    id: typeof check.id === 'string' ? check.id : `check-${order}`,
    type: typeOf(check as { type?: CheckType }),
    order,
    createdAt: typeof check.createdAt === 'string' ? check.createdAt : new Date(0).toISOString(),
    updatedAt: typeof check.updatedAt === 'string' ? check.updatedAt : new Date(0).toISOString(),
  }));
}
