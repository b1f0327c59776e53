// One JSON Schema per step type's `config` (docs/definition.md), checked with ajv. Strings may
// hold `{{ }}` templates, so where a template could stand for a number or an object the
// schemas also accept a string.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Problem } from '../errors.ts';
import type { StepType } from './definition.ts';

const template = { type: 'string', pattern: '^\\s*\\{\\{[\\s\\S]*\\}\\}\\s*$' } as const;
const orTemplate = (schema: object) => ({ anyOf: [schema, template] });
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const httpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

const outboundSteps = {
  http_request: {
    type: 'object',
    required: ['url'],
    additionalProperties: false,
    properties: {
      method: { enum: httpMethods },
      url: { type: 'string', minLength: 1 },
      headers: stringMap,
      query: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
      body: {},
      expectedStatus: orTemplate({ anyOf: [{ type: 'integer', minimum: 100, maximum: 599 }, { type: 'array', items: { type: 'integer', minimum: 100, maximum: 599 }, minItems: 1 }] }),
      responseType: { enum: ['auto', 'json', 'text'] },
      maxResponseBytes: { type: 'integer', minimum: 1, maximum: 10 * 1024 * 1024 },
    },
  },
  webhook: {
    type: 'object',
    required: ['url'],
    additionalProperties: false,
    properties: { url: { type: 'string', minLength: 1 }, payload: {}, headers: stringMap, secret: { type: 'string', minLength: 1 } },
  },
  script: {
    type: 'object',
    required: ['language', 'source'],
    additionalProperties: false,
    properties: {
      language: { enum: ['shell', 'python'] },
      source: { type: 'string', minLength: 1, maxLength: 100_000 },
      args: { type: 'array', items: { type: 'string' } },
      env: stringMap,
      maxOutputBytes: { type: 'integer', minimum: 1, maximum: 10 * 1024 * 1024 },
    },
  },
  agent_task: {
    type: 'object',
    required: ['goal'],
    additionalProperties: false,
    properties: { goal: { type: 'string', minLength: 1 }, context: {}, model: { type: 'string', minLength: 1 }, system: { type: 'string' }, maxTokens: orTemplate({ type: 'integer', minimum: 1 }) },
  },
} as const;

const schemas: Record<StepType, object> = {
  ...outboundSteps,
  condition: { type: 'object', required: ['expression'], additionalProperties: false, properties: { expression: { type: 'string', minLength: 1 } } },
  loop: {
    type: 'object',
    required: ['items', 'step'],
    additionalProperties: false,
    properties: {
      items: { type: 'string', minLength: 1 },
      concurrency: { type: 'integer', minimum: 1, maximum: 50 },
      maxItems: { type: 'integer', minimum: 1, maximum: 10_000 },
      step: {
        type: 'object',
        required: ['type', 'config'],
        additionalProperties: false,
        properties: {
          type: { enum: Object.keys(outboundSteps) },
          config: { type: 'object' },
          retry: { type: 'object' },
          timeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 86_400 },
        },
      },
    },
  },
  wait: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: { seconds: orTemplate({ type: 'number', minimum: 0, maximum: 31_536_000 }), until: { type: 'string', minLength: 1 }, resume: { const: true } },
  },
};

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validators = Object.fromEntries(Object.entries(schemas).map(([type, schema]) => [type, ajv.compile(schema)])) as Record<StepType, ValidateFunction>;
const innerValidators = Object.fromEntries(Object.entries(outboundSteps).map(([type, schema]) => [type, ajv.compile(schema)])) as Record<string, ValidateFunction>;

function toProblems(errors: ErrorObject[] | null | undefined, path: (string | number)[], stepId: string | null): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const e of errors ?? []) {
    // anyOf reports every branch; keep the summary line only.
    if (e.schemaPath.includes('/anyOf/')) continue;
    const segments = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      segments.push(String((e.params as { missingProperty: string }).missingProperty));
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      segments.push(String((e.params as { additionalProperty: string }).additionalProperty));
      message = 'is not a known setting of this step type';
    } else if (e.keyword === 'minProperties' || e.keyword === 'maxProperties') {
      message = 'needs exactly one of seconds, until or resume: true';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const problem = { path: [...path, ...segments], message, stepId };
    const key = `${problem.path.join('.')}|${message}`;
    if (!seen.has(key)) problems.push(problem);
    seen.add(key);
  }
  return problems;
}

/** Problems in a step's config; `path` points at the config. */
export function validateStepConfig(type: StepType, config: unknown, path: (string | number)[], stepId: string | null): Problem[] {
  const validate = validators[type];
  if (validate(config)) {
    if (type !== 'loop') return [];
    const inner = (config as { step: { type: string; config: unknown } }).step;
    const innerValidate = innerValidators[inner.type]!;
    return innerValidate(inner.config) ? [] : toProblems(innerValidate.errors, [...path, 'step', 'config'], stepId);
  }
  return toProblems(validate.errors, path, stepId);
}
