// Differences between two definitions: RFC 6902 operations (rfc6902 package) plus a summary
// counted per step id ("Added 1 step, modified 1 step").
//
// Both are computed over a form of the definition whose `steps` is an object keyed by step id
// (ids are unique). Diffing the arrays would compare steps by position, so inserting or
// reordering a step would show every later step as modified; keyed by id, a step is compared
// with the step of the same id wherever it sits. Step order carries no meaning (dependsOn
// does), so a pure reordering is no change. Operations address steps by id:
// /steps/fetch/config/url.
import { isDeepStrictEqual } from 'node:util';
import { createPatch, type Operation } from 'rfc6902';
import { isPlainObject } from '../json.ts';

export interface DefinitionDiff {
  operations: Operation[];
  summary: string;
  added: string[];
  removed: string[];
  modified: string[];
  /** Top-level fields other than steps that changed (inputSchema, output, …). */
  changedFields: string[];
}

type Step = { id: string } & Record<string, unknown>;

/** The steps of a stored definition by id (definitions are validated, but be lenient with old rows). */
function stepsById(definition: unknown): Map<string, Step> {
  const steps = isPlainObject(definition) && Array.isArray(definition.steps) ? definition.steps : [];
  return new Map(steps.filter((s): s is Step => isPlainObject(s) && typeof s.id === 'string').map((s) => [s.id, s]));
}

function keyed(definition: unknown): Record<string, unknown> {
  const rest = isPlainObject(definition) ? { ...definition } : {};
  return { ...rest, steps: Object.fromEntries(stepsById(definition)) };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function diffDefinitions(from: unknown, to: unknown): DefinitionDiff {
  const before = stepsById(from);
  const after = stepsById(to);
  const added = [...after.keys()].filter((id) => !before.has(id));
  const removed = [...before.keys()].filter((id) => !after.has(id));
  const modified = [...after.keys()].filter(
    (id) => before.has(id) && !isDeepStrictEqual(before.get(id), after.get(id)),
  );
  const keyedFrom = keyed(from);
  const keyedTo = keyed(to);
  const changedFields = [...new Set([...Object.keys(keyedFrom), ...Object.keys(keyedTo)])]
    .filter((key) => key !== 'steps' && !isDeepStrictEqual(keyedFrom[key], keyedTo[key]))
    .sort();
  const parts = [
    added.length ? `added ${plural(added.length, 'step')}` : null,
    removed.length ? `removed ${plural(removed.length, 'step')}` : null,
    modified.length ? `modified ${plural(modified.length, 'step')}` : null,
    changedFields.length ? `changed ${changedFields.join(', ')}` : null,
  ].filter((p): p is string => p !== null);
  const summary = parts.length ? parts.join(', ').replace(/^./, (c) => c.toUpperCase()) : 'No changes';
  return { operations: createPatch(keyedFrom, keyedTo), summary, added, removed, modified, changedFields };
}
