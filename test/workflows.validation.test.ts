// Definition validation through validateWorkflowDefinition and the mutations that store
// definitions: every problem at once, with a message, a path and the step id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const VALIDATE = `query($definition: JSON!) { validateWorkflowDefinition(definition: $definition) { valid errors { message path stepId } } }`;
async function validate(definition: unknown) {
  return ((await t.gql(VALIDATE, { definition })).data as any).validateWorkflowDefinition as { valid: boolean; errors: { message: string; path: string[]; stepId: string | null }[] };
}
const http = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'http_request', config: { url: 'http://127.0.0.1/x' }, ...extra });

describe('validateWorkflowDefinition', () => {
  it('accepts a valid definition using every step type', async () => {
    const result = await validate({
      steps: [
        http('fetch'),
        { id: 'check', type: 'condition', dependsOn: ['fetch'], config: { expression: 'steps.fetch.output.status = 200' } },
        { id: 'each', type: 'loop', dependsOn: ['check'], when: 'steps.check.output.result', config: { items: 'steps.fetch.output.body.items', concurrency: 3, step: { type: 'webhook', config: { url: 'http://127.0.0.1/{{ item.id }}', payload: '{{ item }}' } } } },
        { id: 'nap', type: 'wait', dependsOn: ['each'], config: { seconds: 5 } },
        { id: 'ask', type: 'agent_task', dependsOn: ['nap'], config: { goal: 'Summarize', context: '{{ steps.fetch.output.body }}' }, retry: { attempts: 3, backoffSeconds: 2 }, timeoutSeconds: 60 },
        { id: 'report', type: 'script', dependsOn: ['ask'], config: { language: 'python', source: 'print(1)' } },
      ],
      inputSchema: { type: 'object', properties: { token: { type: 'string', sensitive: true } } },
      output: { summary: '{{ steps.ask.output.answer }}' },
      maxParallelSteps: 4,
    });
    expect(result).toEqual({ valid: true, errors: [] });
  });

  it('reports missing dependencies and cycles in the documented wording', async () => {
    const result = await validate({
      steps: [http('notify', { dependsOn: ['fetch'] }), http('a', { dependsOn: ['b'] }), http('b', { dependsOn: ['a'] }), http('self', { dependsOn: ['self'] })],
    });
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([
      { message: "Step 'notify' depends on 'fetch' which doesn't exist", path: ['steps', '0', 'dependsOn', '0'], stepId: 'notify' },
      { message: "Step 'self' depends on itself", path: ['steps', '3', 'dependsOn', '0'], stepId: 'self' },
      { message: 'Cycle detected: a → b → a', path: ['steps', '1', 'dependsOn'], stepId: 'a' },
    ]);
  });

  it('reports a longer cycle once, with its path', async () => {
    const result = await validate({ steps: [http('x', { dependsOn: ['z'] }), http('y', { dependsOn: ['x'] }), http('z', { dependsOn: ['y'] })] });
    expect(result.errors.map((e) => e.message)).toEqual(['Cycle detected: x → z → y → x']);
  });

  it('reports per-type config errors, bad expressions, bad schemas and typos — all at once', async () => {
    const result = await validate({
      steps: [
        { id: 'h', type: 'http_request', config: { method: 'FETCH', urll: 'x' } },
        { id: 'c', type: 'condition', config: { expression: 'input.a >' } },
        { id: 'l', type: 'loop', config: { items: 'input.list', step: { type: 'loop', config: {} } } },
        { id: 'w', type: 'wait', config: { seconds: 1, resume: true } },
        { id: 's', type: 'script', config: { language: 'ruby', source: 'puts 1' }, dependOn: ['h'] },
        { id: 'e', type: 'webhook', config: { url: 'http://127.0.0.1/{{ steps.h.output. }}' }, when: '((', retry: { attempts: 50 } },
      ],
      inputSchema: { type: 'nonsense' },
      maxParallelSteps: 0,
    });
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path.join('.'), e.message]));
    expect(byPath['steps.0.config.method']).toMatch(/must be one of "GET"/);
    expect(byPath['steps.0.config.url']).toBe('is required');
    expect(byPath['steps.0.config.urll']).toMatch(/not a known setting/);
    expect(byPath['steps.1.config.expression']).toMatch(/^Invalid condition expression/);
    expect(byPath['steps.2.config.step.type']).toMatch(/must be one of/);
    expect(byPath['steps.3.config']).toBe('needs exactly one of seconds, until or resume: true');
    expect(byPath['steps.4.config.language']).toMatch(/"shell", "python"/);
    expect(byPath['steps.4.dependOn']).toBe("Unknown field 'dependOn'; did you mean 'dependsOn'?");
    expect(byPath['steps.5.config.url']).toMatch(/^Invalid expression \{\{ steps.h.output. \}\}/);
    expect(byPath['steps.5.when']).toMatch(/^Invalid `when` expression/);
    expect(byPath['steps.5.retry.attempts']).toBe('must be an integer from 1 to 20');
    expect(byPath.inputSchema).toMatch(/not a valid JSON Schema/);
    expect(byPath.maxParallelSteps).toBe('must be an integer from 1 to 100');
    expect(result.errors.find((e) => e.path.join('.') === 'steps.4.dependOn')!.stepId).toBe('s');
  });

  it('refuses structural garbage clearly', async () => {
    expect((await validate('steps')).errors).toEqual([{ message: 'must be a JSON object with a "steps" array', path: [], stepId: null }]);
    expect((await validate({ steps: [] })).errors[0]!.message).toBe('must contain at least one step');
    expect((await validate({ steps: [3] })).errors[0]).toEqual({ message: 'must be an object', path: ['steps', '0'], stepId: null });
    expect((await validate({ steps: [http('1bad')] })).errors[0]!.path).toEqual(['steps', '0', 'id']);
  });
});

describe('mutations that store definitions', () => {
  it('refuse an invalid definition with the same problems, prefixed with the argument path, and write nothing', async () => {
    const before = await t.db.prisma.workflowVersion.count();
    const res = await t.gql(`mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ... on ValidationError { problems { path message stepId } } } }`, {
      input: { name: 'cyclic', definition: { steps: [http('a', { dependsOn: ['b'] }), http('b', { dependsOn: ['a'] })] } },
    });
    expect((res.data as any).createWorkflow.problems).toEqual([{ path: ['input', 'definition', 'steps', '0', 'dependsOn'], message: 'Cycle detected: a → b → a', stepId: 'a' }]);
    expect(await t.db.prisma.workflowVersion.count()).toBe(before);
  });
});
