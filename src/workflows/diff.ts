// Differences between two definitions: RFC 6902 operations (rfc6902 package) over a form of
// the definition keyed by step id, so inserting or reordering a step does not show every
// later step as changed, plus a per-step summary ("Added 1 step, modified 1 step").
import { createPatch, type Operation } from 'rfc6902';
import type { WorkflowDefinition } from './definition.ts';

export interface DefinitionDiff {
  operations: Operation[];
  summary: string;
  added: string[];
  removed: string[];
  modified: string[];
}

/** The definition with `steps` as an object keyed by step id (ids are unique). */
function keyed(definition: WorkflowDefinition): Record<string, unknown> {
  const { steps, ...rest } = definition;
  return { ...rest, steps: Object.fromEntries((steps ?? []).map((s) => [s.id, s])) };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function diffDefinitions(from: WorkflowDefinition, to: WorkflowDefinition): DefinitionDiff {
  const before = new Map((from.steps ?? []).map((s) => [s.id, JSON.stringify(s)]));
  const after = new Map((to.steps ?? []).map((s) => [s.id, JSON.stringify(s)]));
  const added = [...after.keys()].filter((id) => !before.has(id));
  const removed = [...before.keys()].filter((id) => !after.has(id));
  const modified = [...after.keys()].filter((id) => before.has(id) && before.get(id) !== after.get(id));
  const operations = createPatch(keyed(from), keyed(to));
  const otherChanges = operations.some((op) => !op.path.startsWith('/steps/'));
  const parts = [
    added.length ? `Added ${plural(added.length, 'step')}` : null,
    removed.length ? `removed ${plural(removed.length, 'step')}` : null,
    modified.length ? `modified ${plural(modified.length, 'step')}` : null,
    otherChanges ? 'changed workflow settings' : null,
  ].filter((p): p is string => p !== null);
  const summary = parts.length ? parts.join(', ').replace(/^./, (c) => c.toUpperCase()) : 'No changes';
  return { operations, summary, added, removed, modified };
}
