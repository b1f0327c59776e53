// The JSONata helpers the engine evaluates `when`, conditions, loop items and `{{ }}`
// templates with: parsing, evaluation under budgets, sandboxing, template rendering and
// discovery.
import { describe, expect, it } from 'vitest';
import {
  checkExpression,
  evaluateExpression,
  ExpressionError,
  findTemplates,
  findUnclosedTemplates,
  isWholeTemplate,
  JSONATA_FUNCTIONS,
  renderTemplates,
} from '../src/engine/expressions.ts';

const context = {
  input: { name: 'ada', n: 3, tags: ['x', 'y'], customer: { id: 'c1' } },
  steps: {
    fetch: {
      status: 'COMPLETED',
      output: {
        status: 200,
        body: {
          items: [
            { name: 'a', price: 5 },
            { name: 'b', price: 20 },
            { name: 'c', price: 30 },
          ],
        },
      },
    },
  },
  run: { id: 'r1', workflowId: 'w1' },
};

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('checkExpression', () => {
  it('accepts valid JSONata, including functions bound in the expression', () => {
    expect(checkExpression('steps.fetch.output.body.items[price > 10].name')).toBeNull();
    expect(checkExpression('$uppercase(input.name) & "!"')).toBeNull();
    expect(checkExpression('($double := function($x) { $x * 2 }; $double(input.n))')).toBeNull();
    expect(checkExpression('$map(input.tags, function($t) { $t })')).toBeNull();
  });

  it('explains syntax errors with their position', () => {
    expect(checkExpression('input.a >')).toBe('Unexpected end of expression (at position 9)');
    expect(checkExpression('$count(input.tags')).toMatch(
      /^Expected "\)" before end of expression \(at position \d+\)$/,
    );
    expect(checkExpression('')).toBe('must be a non-empty expression');
    expect(checkExpression('   ')).toBe('must be a non-empty expression');
  });

  it('rejects calls of functions that do not exist', () => {
    expect(checkExpression('$uppercae(input.name)')).toBe('Unknown function $uppercae (at position 9)');
    expect(checkExpression('$map(input.tags, function($t) { $nope($t) })')).toMatch(/^Unknown function \$nope/);
  });

  it('knows only real JSONata functions', async () => {
    for (const name of JSONATA_FUNCTIONS)
      expect([name, await evaluateExpression(`$type($${name})`, {})]).toEqual([name, 'function']);
  });
});

describe('evaluateExpression', () => {
  it('evaluates against the context and returns plain JSON', async () => {
    expect(await evaluateExpression('steps.fetch.output.body.items[price > 10].name', context)).toEqual(['b', 'c']);
    expect(await evaluateExpression('$count(steps.fetch.output.body.items)', context)).toBe(3);
    expect(await evaluateExpression('{ "who": $uppercase(input.name), "run": run.id }', context)).toEqual({
      who: 'ADA',
      run: 'r1',
    });
    const list = await evaluateExpression('input.tags', context);
    expect(Array.isArray(list) && Object.keys(list)).toEqual(['0', '1']); // no JSONata sequence markers
  });

  it('turns "no match" into null, and functions into null', async () => {
    expect(await evaluateExpression('input.missing', context)).toBeNull();
    expect(await evaluateExpression('function($x) { $x }', context)).toBeNull();
    expect(await evaluateExpression('{ "f": $string, "a": 1 }', context)).toEqual({ f: null, a: 1 });
  });

  it('returns copies: changing a result does not change the context', async () => {
    const customer = (await evaluateExpression('input.customer', context)) as { id: string };
    customer.id = 'changed';
    expect(context.input.customer.id).toBe('c1');
  });

  it('cannot reach JavaScript objects or code', async () => {
    for (const source of [
      'input.constructor',
      'input.constructor.constructor',
      '$.__proto__',
      '$lookup(input, "constructor")',
      '"abc".constructor',
      'input.tags.push',
    ]) {
      expect([source, await evaluateExpression(source, context)]).toEqual([source, null]);
    }
    expect(await evaluateExpression('$merge([{}, {"__proto__": {"polluted": true}}]).polluted', context)).toBeNull();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('throws ExpressionError naming the expression and the reason', async () => {
    const runtime = await failure(evaluateExpression('$number(input.name) + 1', context));
    expect(runtime).toBeInstanceOf(ExpressionError);
    expect(runtime.message).toBe(
      'Expression "$number(input.name) + 1" failed: Unable to cast value to a number: "ada" (at position 8)',
    );
    const syntax = await failure(evaluateExpression('input.a >', context));
    expect(syntax).toBeInstanceOf(ExpressionError);
    expect(syntax.message).toBe('Invalid expression "input.a >": Unexpected end of expression (at position 9)');
  });

  it('stops an endless loop within the time budget', async () => {
    const started = Date.now();
    const error = await failure(evaluateExpression('($f := function($n) { $f($n + 1) }; $f(0))', context));
    expect(error).toBeInstanceOf(ExpressionError);
    expect(error.message).toMatch(/Evaluation timeout after 1000 milliseconds/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops runaway recursion and sequences', async () => {
    const deep = await failure(
      evaluateExpression('($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))', context),
    );
    expect(deep).toBeInstanceOf(ExpressionError);
    expect(deep.message).toMatch(/Stack overflow/i);
    const huge = await failure(evaluateExpression('$count([1..5000000])', context));
    expect(huge.message).toMatch(/maximum sequence length/);
  });

  it('sandboxes $eval the same way', async () => {
    expect(await evaluateExpression('$eval("input.n * 2", $)', context)).toBe(6);
    const error = await failure(evaluateExpression('$eval("($f := function($n) { $f($n + 1) }; $f(0))")', context));
    expect(error.message).toMatch(/timeout/i);
  });

  it('evaluates the same cached expression concurrently against different contexts', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => evaluateExpression('input.n * 2', { input: { n: i } })),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });
});

describe('renderTemplates', () => {
  it('gives a string that is exactly one template the value itself, of any type', async () => {
    const rendered = await renderTemplates(
      {
        n: '{{ input.n }}',
        tags: '{{ input.tags }}',
        customer: '{{input.customer}}',
        yes: '{{ input.n > 1 }}',
        none: '{{ input.missing }}',
      },
      context,
    );
    expect(rendered).toEqual({ n: 3, tags: ['x', 'y'], customer: { id: 'c1' }, yes: true, none: null });
  });

  it('replaces templates inside text by their text', async () => {
    expect(
      await renderTemplates('https://api.example.com/{{ input.customer.id }}/items?n={{ input.n }}', context),
    ).toBe('https://api.example.com/c1/items?n=3');
    expect(
      await renderTemplates(
        'tags: {{ input.tags }}, customer: {{ input.customer }}, none: [{{ input.missing }}]',
        context,
      ),
    ).toBe('tags: ["x","y"], customer: {"id":"c1"}, none: []');
    expect(await renderTemplates(' {{ input.n }}', context)).toBe(' 3');
  });

  it('deep-copies everything else unchanged', async () => {
    const value = { a: [1, true, null, { b: 'plain', c: ['{{ run.workflowId }}'] }], d: 2.5 };
    const rendered = (await renderTemplates(value, context)) as typeof value;
    expect(rendered).toEqual({ a: [1, true, null, { b: 'plain', c: ['w1'] }], d: 2.5 });
    expect(rendered.a).not.toBe(value.a);
    expect(value.a[3]).toEqual({ b: 'plain', c: ['{{ run.workflowId }}'] });
  });

  it('reads braces and quotes inside an expression correctly', async () => {
    expect(await renderTemplates('{{ {"a": {"b": input.n}} }}', context)).toEqual({ a: { b: 3 } });
    expect(await renderTemplates('x{{ "}}" }}y', context)).toBe('x}}y');
    expect(await renderTemplates('{{ "{{" }}name}}', context)).toBe('{{name}}');
    expect(await renderTemplates('left {{ as is', context)).toBe('left {{ as is');
  });

  it('fails with ExpressionError when a template fails', async () => {
    const error = await failure(renderTemplates({ url: 'x/{{ $number(input.name) }}' }, context));
    expect(error).toBeInstanceOf(ExpressionError);
    expect(error.message).toMatch(/^Expression "\$number\(input.name\)" failed/);
  });
});

describe('findTemplates and friends', () => {
  it('finds every template with its path', () => {
    const value = {
      url: 'https://x/{{ input.id }}/{{ input.n }}',
      body: { list: ['a', '{{ steps.fetch.output }}'], n: 3 },
      raw: '{{ {"a": {"b": 1}} }}',
    };
    expect(findTemplates(value)).toEqual([
      { path: ['url'], source: 'input.id' },
      { path: ['url'], source: 'input.n' },
      { path: ['body', 'list', 1], source: 'steps.fetch.output' },
      { path: ['raw'], source: '{"a": {"b": 1}}' },
    ]);
    expect(findTemplates('no templates')).toEqual([]);
    expect(findTemplates(42)).toEqual([]);
  });

  it('finds a {{ that never closes', () => {
    expect(findUnclosedTemplates({ a: 'ok {{ x }}', b: ['fine', 'oops {{ x }'], c: '{{ "{{" }}' })).toEqual([['b', 1]]);
  });

  it('tells a whole-string template from text', () => {
    expect(isWholeTemplate('{{ input.n }}')).toBe(true);
    expect(isWholeTemplate('{{ {"a": 1} }}')).toBe(true);
    expect(isWholeTemplate('{{ a }}{{ b }}')).toBe(false);
    expect(isWholeTemplate(' {{ a }}')).toBe(false);
    expect(isWholeTemplate('plain')).toBe(false);
  });
});
