// Definition validation through validateWorkflowDefinition and the mutations that store
// definitions: every problem at once, each with a message, a path from the definition root and
// the step id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';

interface Problem {
  message: string;
  path: string[];
  stepId: string | null;
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const VALIDATE = `query($definition: JSON!) { validateWorkflowDefinition(definition: $definition) { valid errors { message path stepId } } }`;
async function validate(definition: unknown): Promise<{ valid: boolean; errors: Problem[] }> {
  const res = await t.gql(VALIDATE, { definition });
  expect(res.errors).toBeUndefined();
  return (res.data as { validateWorkflowDefinition: { valid: boolean; errors: Problem[] } }).validateWorkflowDefinition;
}
/** Problems as { 'steps.0.config.url': message } (one per path; the tests pick unique paths). */
async function problemsByPath(definition: unknown): Promise<Record<string, string>> {
  const { valid, errors } = await validate(definition);
  expect(valid).toBe(false);
  return Object.fromEntries(errors.map((e) => [e.path.join('.'), e.message]));
}
const http = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'http_request',
  config: { url: 'http://127.0.0.1/x' },
  ...extra,
});
const step = (type: string, config: unknown, extra: Record<string, unknown> = {}) => ({
  definition: { steps: [{ id: 's', type, config, ...extra }] },
});

describe('validateWorkflowDefinition', () => {
  it('accepts a valid definition using every step type and every documented field', async () => {
    const result = await validate({
      steps: [
        http('fetch', {
          name: 'Fetch',
          config: {
            method: 'post',
            url: 'https://{{ input.host }}/items/{{ input.id }}',
            headers: { 'X-Id': '{{ input.id }}' },
            query: { page: 1, all: true },
            body: { a: '{{ input }}' },
            expectedStatus: [200, 201],
            responseType: 'json',
            maxResponseBytes: 1024,
          },
        }),
        {
          id: 'check',
          type: 'condition',
          dependsOn: ['fetch'],
          config: { expression: 'steps.fetch.output.status = 200' },
        },
        {
          id: 'each',
          type: 'loop',
          dependsOn: ['check'],
          when: 'steps.check.output.result',
          config: {
            items: 'steps.fetch.output.body.items',
            concurrency: 3,
            maxItems: 50,
            step: {
              type: 'webhook',
              config: { url: 'http://127.0.0.1/{{ item.id }}', payload: '{{ item }}' },
              retry: { attempts: 2 },
              timeoutSeconds: 5,
            },
          },
        },
        { id: 'nap', type: 'wait', dependsOn: ['each'], config: { seconds: '{{ input.delay }}' } },
        { id: 'later', type: 'wait', dependsOn: ['each'], config: { until: '2030-01-01T09:00:00+01:00' } },
        { id: 'approve', type: 'wait', dependsOn: ['each'], config: { resume: true } },
        {
          id: 'ask',
          type: 'agent_task',
          dependsOn: ['nap', 'later', 'approve'],
          config: { goal: 'Summarize', context: '{{ steps.fetch.output.body }}', maxTokens: 100 },
          retry: { attempts: 3, backoffSeconds: 2, maxBackoffSeconds: 30 },
          timeoutSeconds: 60,
        },
        {
          id: 'report',
          type: 'script',
          dependsOn: ['ask'],
          config: {
            language: 'python',
            source: 'print(1)',
            args: ['{{ run.id }}'],
            env: { TOKEN: '{{ secrets.TOKEN }}' },
            maxOutputBytes: 4096,
          },
        },
        {
          id: 'notify',
          type: 'webhook',
          dependsOn: ['report'],
          config: {
            url: 'https://hooks.example.com/x',
            payload: { text: 'literal {{ "{{" }}braces}}' },
            secret: 's3cret',
          },
        },
      ],
      inputSchema: {
        $id: 'https://example.com/input',
        type: 'object',
        properties: { token: { type: 'string', sensitive: true }, email: { type: 'string', format: 'email' } },
      },
      outputSchema: { type: 'object' },
      output: { summary: '{{ steps.ask.output.answer }}' },
      maxParallelSteps: 4,
    });
    expect(result).toEqual({ valid: true, errors: [] });
  });

  it('reports missing dependencies, self-dependencies and cycles in the documented wording', async () => {
    const result = await validate({
      steps: [
        http('notify', { dependsOn: ['fetch'] }),
        http('a', { dependsOn: ['b'] }),
        http('b', { dependsOn: ['a'] }),
        http('self', { dependsOn: ['self'] }),
      ],
    });
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([
      {
        message: "Step 'notify' depends on 'fetch' which doesn't exist",
        path: ['steps', '0', 'dependsOn', '0'],
        stepId: 'notify',
      },
      { message: "Step 'self' depends on itself", path: ['steps', '3', 'dependsOn', '0'], stepId: 'self' },
      { message: 'Cycle detected: a → b → a', path: ['steps', '1', 'dependsOn'], stepId: 'a' },
    ]);
  });

  it('reports each distinct cycle once, starting at its first step', async () => {
    expect(
      (
        await validate({
          steps: [http('x', { dependsOn: ['z'] }), http('y', { dependsOn: ['x'] }), http('z', { dependsOn: ['y'] })],
        })
      ).errors,
    ).toEqual([{ message: 'Cycle detected: x → z → y → x', path: ['steps', '0', 'dependsOn'], stepId: 'x' }]);
    // Two cycles through a, and a step outside them that depends on the tangle.
    const tangled = await validate({
      steps: [
        http('p', { dependsOn: ['b'] }),
        http('a', { dependsOn: ['b', 'c'] }),
        http('b', { dependsOn: ['a'] }),
        http('c', { dependsOn: ['a'] }),
      ],
    });
    expect(tangled.errors).toEqual([
      { message: 'Cycle detected: a → b → a', path: ['steps', '1', 'dependsOn'], stepId: 'a' },
      { message: 'Cycle detected: a → c → a', path: ['steps', '1', 'dependsOn'], stepId: 'a' },
    ]);
  });

  it('bounds the cycles listed in a dense tangle', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `s${i}`);
    const { errors } = await validate({ steps: ids.map((id) => http(id, { dependsOn: ids.filter((d) => d !== id) })) });
    expect(errors).toHaveLength(21);
    expect(errors[0]!.message).toBe('Cycle detected: s0 → s1 → s0');
    expect(errors[20]).toEqual({
      message: 'There may be more dependency cycles than the 20 listed; fix these first',
      path: ['steps'],
      stepId: null,
    });
  });

  it('checks dependsOn itself', async () => {
    const byPath = await problemsByPath({
      steps: [http('a'), http('b', { dependsOn: 'a' }), http('c', { dependsOn: ['a', 7, 'a'] })],
    });
    expect(byPath).toEqual({
      'steps.1.dependsOn': 'must be a list of step ids',
      'steps.2.dependsOn.1': 'must be a step id (a string)',
      'steps.2.dependsOn.2': "'a' is listed more than once",
    });
  });

  it('refuses structural garbage clearly', async () => {
    expect((await validate('steps')).errors).toEqual([
      { message: 'must be a JSON object with a "steps" array', path: [], stepId: null },
    ]);
    expect((await validate([])).errors).toEqual([
      { message: 'must be a JSON object with a "steps" array', path: [], stepId: null },
    ]);
    expect((await validate({})).errors).toEqual([
      { message: 'is required: a list of steps', path: ['steps'], stepId: null },
    ]);
    expect((await validate({ steps: {} })).errors).toEqual([
      { message: 'must be a list of steps', path: ['steps'], stepId: null },
    ]);
    expect((await validate({ steps: [] })).errors).toEqual([
      { message: 'must contain at least one step', path: ['steps'], stepId: null },
    ]);
    expect((await validate({ steps: [3, null] })).errors).toEqual([
      { message: 'must be an object', path: ['steps', '0'], stepId: null },
      { message: 'must be an object', path: ['steps', '1'], stepId: null },
    ]);
    const tooMany = await validate({ steps: Array.from({ length: 501 }, (_, i) => http(`s${i}`)) });
    expect(tooMany.errors).toEqual([
      { message: 'must contain at most 500 steps (got 501)', path: ['steps'], stepId: null },
    ]);
    expect((await validate({ steps: Array.from({ length: 500 }, (_, i) => http(`s${i}`)) })).valid).toBe(true);
  });

  it('checks step ids, names and types', async () => {
    const byPath = await problemsByPath({
      steps: [
        { type: 'http_request', config: { url: 'http://x' } },
        http('1bad'),
        http('x'.repeat(65)),
        http('dup'),
        http('dup', { name: 'n'.repeat(201) }),
        { id: 'noType', config: {} },
        { id: 'typo', type: 'http_reqest', config: {} },
        { id: 'weird', type: 'teleport' },
      ],
    });
    expect(byPath).toEqual({
      'steps.0.id': 'is required',
      'steps.1.id':
        '"1bad" is not a valid step id: letters, digits, _ or -, starting with a letter, at most 64 characters',
      'steps.2.id': `"${'x'.repeat(65)}" is not a valid step id: letters, digits, _ or -, starting with a letter, at most 64 characters`,
      'steps.4.name': 'must be a string of at most 200 characters',
      'steps.4.id': "Duplicate step id 'dup'",
      'steps.5.type': 'is required: one of http_request, script, agent_task, condition, loop, wait, webhook',
      'steps.6.type':
        'Unknown step type "http_reqest"; expected one of http_request, script, agent_task, condition, loop, wait, webhook (did you mean \'http_request\'?)',
      'steps.7.type':
        'Unknown step type "teleport"; expected one of http_request, script, agent_task, condition, loop, wait, webhook',
    });
  });

  it('names unknown fields and suggests the closest known one', async () => {
    const { errors } = await validate({
      steps: [http('a', { dependOn: [], timeout: 3, retry: { attempt: 2 }, colour: 'red' })],
      output: {},
      maxParalelSteps: 3,
    });
    expect(errors).toEqual([
      {
        path: ['maxParalelSteps'],
        message: "Unknown field 'maxParalelSteps'; did you mean 'maxParallelSteps'?",
        stepId: null,
      },
      { path: ['steps', '0', 'dependOn'], message: "Unknown field 'dependOn'; did you mean 'dependsOn'?", stepId: 'a' },
      {
        path: ['steps', '0', 'timeout'],
        message: "Unknown field 'timeout'; did you mean 'timeoutSeconds'?",
        stepId: 'a',
      },
      {
        path: ['steps', '0', 'colour'],
        message: "Unknown field 'colour'; known fields: id, type, name, config, dependsOn, when, retry, timeoutSeconds",
        stepId: 'a',
      },
      {
        path: ['steps', '0', 'retry', 'attempt'],
        message: "Unknown field 'attempt'; did you mean 'attempts'?",
        stepId: 'a',
      },
    ]);
  });

  const configCases: [string, { definition: unknown }, Record<string, string>][] = [
    [
      'http_request',
      step('http_request', {
        method: 'FETCH',
        urll: 'x',
        headers: { A: 1 },
        expectedStatus: 'ok',
        responseType: 'xml',
        maxResponseBytes: 0,
      }),
      {
        'steps.0.config.url': 'is required',
        'steps.0.config.urll': "Unknown field 'urll'; did you mean 'url'?",
        'steps.0.config.method':
          'must be one of "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "post", "put", "patch", "delete", "head", "options"',
        'steps.0.config.headers.A': 'must be a string',
        'steps.0.config.expectedStatus':
          'must be a status code (100–599), a non-empty list of them, or a {{ }} template',
        'steps.0.config.responseType': 'must be one of "auto", "json", "text"',
        'steps.0.config.maxResponseBytes': 'must be an integer (bytes) from 1 to 10485760',
      },
    ],
    [
      'http_request url',
      step('http_request', { url: 'ftp://example.com/{{ input.x }}' }),
      { 'steps.0.config.url': 'must be an absolute http(s) URL (it may contain {{ }} templates)' },
    ],
    [
      'webhook',
      step('webhook', { url: 'not a url', secret: '', payload: 1, headers: '{{ input.h }} ' }),
      {
        'steps.0.config.url': 'must be an absolute http(s) URL (it may contain {{ }} templates)',
        'steps.0.config.secret': 'must be a non-empty string',
        'steps.0.config.headers': 'must be an object of header names to strings, or a {{ }} template',
      },
    ],
    [
      'script',
      step('script', { language: 'ruby', source: '', args: ['a', 1], env: { '1X': 'a', OK: 2 } }),
      {
        'steps.0.config.language': 'must be one of "shell", "python"',
        'steps.0.config.source': 'must be a non-empty string of at most 100000 characters',
        'steps.0.config.args.1': 'must be a string',
        'steps.0.config.env.1X': 'is not a valid name (letters, digits and _, not starting with a digit)',
        'steps.0.config.env.OK': 'must be a string',
      },
    ],
    [
      'agent_task',
      step('agent_task', { context: {}, maxTokens: 0, model: '' }),
      {
        'steps.0.config.goal': 'is required',
        'steps.0.config.maxTokens': 'must be a positive integer, or a {{ }} template',
        'steps.0.config.model': 'must be a non-empty string',
      },
    ],
    [
      'condition',
      step('condition', { expr: 'x' }),
      {
        'steps.0.config.expression': 'is required',
        'steps.0.config.expr': "Unknown field 'expr'; did you mean 'expression'?",
      },
    ],
    [
      'loop',
      step('loop', {
        items: 'input.list',
        concurrency: 51,
        maxItems: 10001,
        step: { type: 'loop', config: {}, retry: { attempts: 0 }, timeoutSeconds: 0 },
      }),
      {
        'steps.0.config.concurrency': 'must be an integer from 1 to 50',
        'steps.0.config.maxItems': 'must be an integer from 1 to 10000',
        'steps.0.config.step.type': 'must be one of "http_request", "webhook", "script", "agent_task"',
        'steps.0.config.step.retry.attempts': 'must be an integer from 1 to 20',
        'steps.0.config.step.timeoutSeconds': 'must be a number of seconds from 0.001 to 86400',
      },
    ],
    [
      'loop inner config, even when the loop has problems of its own',
      step('loop', { items: 'input.list', concurrency: 0, step: { type: 'webhook', config: { uri: 'x' } } }),
      {
        'steps.0.config.concurrency': 'must be an integer from 1 to 50',
        'steps.0.config.step.config.url': 'is required',
        'steps.0.config.step.config.uri': "Unknown field 'uri'; did you mean 'url'?",
      },
    ],
    [
      'wait with two modes',
      step('wait', { seconds: 1, resume: true }),
      {
        'steps.0.config':
          'must be exactly one of { seconds }, { until }, { resume: true }, { event } or { condition } (got seconds, resume)',
      },
    ],
    [
      'wait with none',
      step('wait', {}),
      {
        'steps.0.config': 'must be exactly one of { seconds }, { until }, { resume: true }, { event } or { condition }',
      },
    ],
    [
      'wait until without a time zone',
      step('wait', { until: '2030-01-01T09:00:00' }),
      {
        'steps.0.config.until':
          'must be an RFC 3339 date-time with a time zone (e.g. 2030-01-01T09:00:00Z), or a {{ }} template',
      },
    ],
    [
      'wait seconds',
      step('wait', { seconds: -1 }),
      { 'steps.0.config.seconds': 'must be a number of seconds from 0 to 31622400, or a {{ }} template' },
    ],
    ['wait resume', step('wait', { resume: false }), { 'steps.0.config.resume': 'must be true' }],
    ['a config that is not an object', step('webhook', ['x']), { 'steps.0.config': 'must be an object' }],
    ['a missing config', { definition: { steps: [{ id: 's', type: 'script' }] } }, { 'steps.0.config': 'is required' }],
  ];
  for (const [what, { definition }, expected] of configCases) {
    it(`checks the config of ${what} against its schema`, async () => {
      const { errors } = await validate(definition);
      expect(Object.fromEntries(errors.map((e) => [e.path.join('.'), e.message]))).toEqual(expected);
      expect(errors.every((e) => e.stepId === 's')).toBe(true);
    });
  }

  it('checks every expression: when, condition, loop items, templates in configs and output', async () => {
    const byPath = await problemsByPath({
      steps: [
        { id: 'c', type: 'condition', config: { expression: 'input.a >' } },
        { id: 'wrapped', type: 'condition', config: { expression: '{{ input.a }}' } },
        {
          id: 'l',
          type: 'loop',
          config: { items: 'input.list[', step: { type: 'webhook', config: { url: 'http://x/{{ item. }}' } } },
        },
        {
          id: 'w',
          type: 'webhook',
          when: '((',
          config: { url: 'http://x', payload: { list: ['ok', '{{ $uppercae(input.name) }}'], open: 'a {{ input.b' } },
        },
        { id: 'e', type: 'http_request', when: '', config: { url: 'http://x' } },
      ],
      output: { a: '{{ steps.c.output. }}' },
    });
    expect(byPath).toEqual({
      'steps.0.config.expression': 'Invalid condition expression: Unexpected end of expression (at position 9)',
      'steps.1.config.expression':
        'Invalid condition expression: Expected ":", got "}" (at position 12) (this field is an expression already: write it without {{ }})',
      'steps.2.config.items': 'Invalid loop items expression: Expected "]" before end of expression (at position 11)',
      'steps.2.config.step.config.url': 'Invalid expression {{ item. }}: Unexpected end of expression (at position 5)',
      'steps.3.when': 'Invalid `when` expression: Expected ")" before end of expression (at position 2)',
      'steps.3.config.payload.list.1':
        'Invalid expression {{ $uppercae(input.name) }}: Unknown function $uppercae (at position 9)',
      'steps.3.config.payload.open': "'{{' has no closing '}}' (to write a literal '{{', use {{ \"{{\" }})",
      'steps.4.when': 'Invalid `when` expression: must be a non-empty expression',
      'output.a': 'Invalid expression {{ steps.c.output. }}: Unexpected end of expression (at position 15)',
    });
  });

  it('checks input and output JSON Schemas', async () => {
    const byPath = await problemsByPath({
      steps: [http('a')],
      inputSchema: {
        type: 'object',
        properties: { n: { type: 'integer', minimum: 'zero' }, e: { type: 'string', format: 'emial' } },
      },
      outputSchema: { $ref: '#/$defs/missing' },
    });
    expect(byPath).toEqual({
      'inputSchema.properties.n.minimum': 'is not a valid JSON Schema: must be number',
      outputSchema: "is not a valid JSON Schema: can't resolve reference #/$defs/missing from id #",
    });
    expect(
      await problemsByPath({
        steps: [http('a')],
        inputSchema: { type: 'object', properties: { e: { type: 'string', format: 'emial' } } },
      }),
    ).toEqual({
      'inputSchema.properties.e.format': 'Unknown format "emial"',
    });
    expect(await problemsByPath({ steps: [http('a')], inputSchema: { type: 'string', pattern: '(' } })).toEqual({
      inputSchema: 'is not a valid JSON Schema: Invalid regular expression: /(/u: Unterminated group',
    });
    expect(
      await problemsByPath({ steps: [http('a')], inputSchema: { type: 'array' }, outputSchema: 'object' }),
    ).toEqual({
      'inputSchema.type': "must be 'object': the run input is always a JSON object",
      outputSchema: 'must be a JSON Schema object',
    });
    expect(
      await problemsByPath({
        steps: [http('a')],
        inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' },
      }),
    ).toEqual({
      'inputSchema.$schema':
        'must be https://json-schema.org/draft/2020-12/schema (or left out): Weft checks JSON Schema draft 2020-12',
    });
  });

  it('accepts a schema with an $id on every save, not only the first', async () => {
    const definition = {
      steps: [http('a')],
      inputSchema: { $id: 'https://example.com/schemas/again', type: 'object' },
    };
    expect((await validate(definition)).valid).toBe(true);
    expect((await validate(definition)).valid).toBe(true);
    // Even one that claims the id of the draft 2020-12 meta-schema leaves the checker intact.
    const impostor = {
      steps: [http('a')],
      outputSchema: { $id: 'https://json-schema.org/draft/2020-12/schema', type: 'object' },
    };
    expect((await validate(impostor)).valid).toBe(true);
    expect((await validate(impostor)).valid).toBe(true);
    expect(await problemsByPath({ steps: [http('a')], outputSchema: { type: 'nonsense' } })).toEqual({
      'outputSchema.type':
        'is not a valid JSON Schema: must be one of "array", "boolean", "integer", "null", "number", "object", "string"',
    });
  });

  it('checks retry, timeoutSeconds and maxParallelSteps ranges', async () => {
    const byPath = await problemsByPath({
      steps: [
        http('a', { retry: { attempts: 21, backoffSeconds: -1, maxBackoffSeconds: 86401 }, timeoutSeconds: 0 }),
        http('b', { retry: 3, timeoutSeconds: 86401 }),
        http('c', { retry: { attempts: 1.5 }, timeoutSeconds: '30' }),
      ],
      maxParallelSteps: 101,
    });
    expect(byPath).toEqual({
      'steps.0.retry.attempts': 'must be an integer from 1 to 20',
      'steps.0.retry.backoffSeconds': 'must be a number of seconds from 0 to 86400',
      'steps.0.retry.maxBackoffSeconds': 'must be a number of seconds from 0 to 86400',
      'steps.0.timeoutSeconds': 'must be a number of seconds from 0.001 to 86400',
      'steps.1.retry': 'must be an object { attempts, backoffSeconds, maxBackoffSeconds }',
      'steps.1.timeoutSeconds': 'must be a number of seconds from 0.001 to 86400',
      'steps.2.retry.attempts': 'must be an integer from 1 to 20',
      'steps.2.timeoutSeconds': 'must be a number of seconds from 0.001 to 86400',
      maxParallelSteps: 'must be an integer from 1 to 100',
    });
    for (const maxParallelSteps of [0, 2.5, '4'])
      expect(await problemsByPath({ steps: [http('a')], maxParallelSteps })).toEqual({
        maxParallelSteps: 'must be an integer from 1 to 100',
      });
    expect(
      (
        await validate({
          steps: [http('a', { retry: { attempts: 20, backoffSeconds: 0 }, timeoutSeconds: 0.001 })],
          maxParallelSteps: 100,
        })
      ).valid,
    ).toBe(true);
  });

  it('reports every kind of problem at once', async () => {
    const { errors } = await validate({
      steps: [
        { id: 'h', type: 'http_request', config: { method: 'FETCH' }, dependsOn: ['ghost'] },
        { id: 'h', type: 'wait', config: {}, when: '((' },
        { id: 'x', type: 'teleport', dependsOn: ['y'] },
        { id: 'y', type: 'condition', config: { expression: '1 +' }, dependsOn: ['x'] },
      ],
      inputSchema: { type: 'nonsense' },
      output: '{{ ) }}',
      maxParallelSteps: 0,
      extra: true,
    });
    expect(errors.map((e) => `${e.path.join('.')}: ${e.message}`)).toEqual([
      "extra: Unknown field 'extra'; known fields: steps, inputSchema, outputSchema, output, maxParallelSteps",
      'steps.0.config.url: is required',
      'steps.0.config.method: must be one of "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "post", "put", "patch", "delete", "head", "options"',
      'steps.1.config: must be exactly one of { seconds }, { until }, { resume: true }, { event } or { condition }',
      'steps.1.when: Invalid `when` expression: Expected ")" before end of expression (at position 2)',
      "steps.1.id: Duplicate step id 'h'",
      'steps.2.type: Unknown step type "teleport"; expected one of http_request, script, agent_task, condition, loop, wait, webhook',
      'steps.3.config.expression: Invalid condition expression: Unexpected end of expression (at position 3)',
      "steps.0.dependsOn.0: Step 'h' depends on 'ghost' which doesn't exist",
      'steps.2.dependsOn: Cycle detected: x → y → x',
      'inputSchema.type: is not a valid JSON Schema: must be one of "array", "boolean", "integer", "null", "number", "object", "string"',
      'output: Invalid expression {{ ) }}: The symbol ")" cannot be used as a unary operator (at position 1)',
      'maxParallelSteps: must be an integer from 1 to 100',
    ]);
  });
});

describe('mutations that store definitions', () => {
  const CREATE = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { __typename ... on ValidationError { code problems { path message stepId } } } }`;
  async function counts() {
    return { workflows: await t.db.prisma.workflow.count(), versions: await t.db.prisma.workflowVersion.count() };
  }

  it('refuse an invalid definition with the same problems, prefixed with the argument path, and write nothing', async () => {
    const before = await counts();
    const res = await t.gql(CREATE, {
      input: {
        name: 'cyclic',
        definition: { steps: [http('a', { dependsOn: ['b'] }), http('b', { dependsOn: ['a'] })] },
      },
    });
    expect((res.data as { createWorkflow: unknown }).createWorkflow).toEqual({
      __typename: 'ValidationError',
      code: 'VALIDATION_FAILED',
      problems: [
        { path: ['input', 'definition', 'steps', '0', 'dependsOn'], message: 'Cycle detected: a → b → a', stepId: 'a' },
      ],
    });
    expect(await counts()).toEqual(before);
  });

  it('report exactly what validateWorkflowDefinition reports', async () => {
    const definition = {
      steps: [
        { id: 'fetch', type: 'http_request', config: { url: 'http://x/{{ input. }}', urll: 1 }, dependsOn: ['nope'] },
        {
          id: 'notify',
          type: 'webhook',
          config: { url: 'http://x' },
          dependsOn: ['fetch', 'fetch'],
          retry: { attempts: 0 },
        },
      ],
      outputSchema: { type: 'nonsense' },
    };
    const before = await counts();
    const expected = (await validate(definition)).errors;
    expect(expected.length).toBeGreaterThan(4);
    const res = await t.gql(CREATE, { input: { name: 'broken', definition } });
    const problems = (res.data as { createWorkflow: { problems: Problem[] } }).createWorkflow.problems;
    expect(problems).toEqual(expected.map((p) => ({ ...p, path: ['input', 'definition', ...p.path] })));
    expect(await counts()).toEqual(before);
  });
});
