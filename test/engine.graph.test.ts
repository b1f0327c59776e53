// Pure DAG decisions: readiness, skipping, downstream sets, final steps, backoff bounds.
import { describe, expect, it } from 'vitest';
import { downstreamOf, finalSteps, readiness } from '../src/engine/graph.ts';
import { backoffMs, retryPolicyOf } from '../src/engine/retry.ts';
import { finalRunStatus } from '../src/engine/statuses.ts';
import type { StepDefinition } from '../src/workflows/definition.ts';

const step = (id: string, dependsOn: string[] = []): StepDefinition => ({
  id,
  type: 'http_request',
  config: {},
  dependsOn,
});
const steps = [step('a'), step('b', ['a']), step('c', ['a']), step('d', ['b', 'c']), step('e')];

describe('readiness', () => {
  const of = (statuses: Record<string, string>) => (id: string) => statuses[id] as never;
  it('waits for unfinished dependencies', () => {
    expect(readiness(steps[3]!, of({ b: 'COMPLETED', c: 'RUNNING' }))).toBe('WAIT');
    expect(readiness(steps[3]!, of({ b: 'COMPLETED', c: 'RETRYING' }))).toBe('WAIT');
  });
  it('is ready when dependencies completed, or some completed and others were skipped', () => {
    expect(readiness(steps[3]!, of({ b: 'COMPLETED', c: 'COMPLETED' }))).toBe('READY');
    expect(readiness(steps[3]!, of({ b: 'COMPLETED', c: 'SKIPPED' }))).toBe('READY');
    expect(readiness(steps[0]!, of({}))).toBe('READY');
  });
  it('skips when every dependency was skipped, and is blocked by a failure', () => {
    expect(readiness(steps[3]!, of({ b: 'SKIPPED', c: 'SKIPPED' }))).toBe('SKIP');
    expect(readiness(steps[3]!, of({ b: 'FAILED', c: 'COMPLETED' }))).toBe('BLOCKED');
    expect(readiness(steps[3]!, of({ b: 'CANCELLED', c: 'SKIPPED' }))).toBe('BLOCKED');
  });
});

describe('graph helpers', () => {
  it('finds everything downstream of a step, and the final steps', () => {
    expect([...downstreamOf(steps, ['b'])].sort()).toEqual(['b', 'd']);
    expect([...downstreamOf(steps, ['a'])].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(finalSteps(steps).map((s) => s.id)).toEqual(['d', 'e']);
  });
  it('decides the final run status', () => {
    expect(finalRunStatus(['COMPLETED', 'SKIPPED'])).toBe('COMPLETED');
    expect(finalRunStatus(['COMPLETED', 'FAILED', 'CANCELLED'])).toBe('FAILED');
    expect(finalRunStatus(['COMPLETED', 'CANCELLED'])).toBe('CANCELLED');
  });
});

describe('retry policy', () => {
  it('defaults to one attempt and grows the backoff ceiling exponentially, capped', () => {
    expect(retryPolicyOf({})).toEqual({ attempts: 1, backoffSeconds: 1, maxBackoffSeconds: 300 });
    const policy = retryPolicyOf({ retry: { attempts: 10, backoffSeconds: 2, maxBackoffSeconds: 10 } });
    expect(backoffMs(policy, 2, () => 1)).toBe(2000);
    expect(backoffMs(policy, 3, () => 1)).toBe(4000);
    expect(backoffMs(policy, 4, () => 1)).toBe(8000);
    expect(backoffMs(policy, 9, () => 1)).toBe(10000);
    expect(backoffMs(policy, 9, () => 0)).toBe(0);
  });
});
