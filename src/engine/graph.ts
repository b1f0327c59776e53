// Pure DAG logic over a definition and the current step states: which steps are ready, which
// must be skipped, what lies downstream of a step. No I/O, so it is unit-tested directly.
import type { StepStatus } from '../generated/prisma/enums.ts';
import type { StepDefinition } from '../workflows/definition.ts';
import { isStepFinished } from './statuses.ts';

export function dependenciesOf(step: StepDefinition): string[] {
  return Array.isArray(step.dependsOn) ? step.dependsOn : [];
}

/** Steps nothing depends on: their outputs form the default run output. */
export function finalSteps(steps: StepDefinition[]): StepDefinition[] {
  const depended = new Set(steps.flatMap(dependenciesOf));
  return steps.filter((s) => !depended.has(s.id));
}

/** The given steps and everything that (transitively) depends on them. */
export function downstreamOf(steps: StepDefinition[], roots: Iterable<string>): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const step of steps)
    for (const dep of dependenciesOf(step)) dependents.set(dep, [...(dependents.get(dep) ?? []), step.id]);
  const result = new Set<string>();
  const queue = [...roots];
  while (queue.length) {
    const id = queue.pop()!;
    if (result.has(id)) continue;
    result.add(id);
    queue.push(...(dependents.get(id) ?? []));
  }
  return result;
}

/** Everything the given step (transitively) depends on, without the step itself. */
export function upstreamOf(steps: StepDefinition[], stepId: string): Set<string> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const dependencies = (id: string) => {
    const step = byId.get(id);
    return step ? dependenciesOf(step) : [];
  };
  const result = new Set<string>();
  const queue = dependencies(stepId);
  while (queue.length) {
    const id = queue.pop()!;
    if (result.has(id)) continue;
    result.add(id);
    queue.push(...dependencies(id));
  }
  return result;
}

export type Readiness = 'WAIT' | 'READY' | 'SKIP' | 'BLOCKED';

/**
 * Whether a PENDING step can be decided now:
 * - WAIT: some dependency is not finished yet;
 * - BLOCKED: a dependency FAILED or was CANCELLED (the step will never run);
 * - SKIP: every dependency was SKIPPED (skipping propagates down a branch);
 * - READY: otherwise (its `when`, if any, is evaluated next).
 */
export function readiness(step: StepDefinition, statusOf: (stepId: string) => StepStatus | undefined): Readiness {
  const deps = dependenciesOf(step);
  const statuses = deps.map((d) => statusOf(d) ?? 'PENDING');
  if (statuses.some((s) => !isStepFinished(s))) return 'WAIT';
  if (statuses.some((s) => s === 'FAILED' || s === 'CANCELLED')) return 'BLOCKED';
  if (deps.length > 0 && statuses.every((s) => s === 'SKIPPED')) return 'SKIP';
  return 'READY';
}
