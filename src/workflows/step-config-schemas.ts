// One JSON Schema per step type's `config` (docs/definition.md): data only. The step-type
// registry (engine/steps/registry.ts) pairs each with its type; step-configs.ts compiles and
// checks them. Strings may hold `{{ }}` templates, so where a template could stand for a number,
// a list or an object the schema also accepts a string that is exactly one template. A schema's
// `description` doubles as the problem message ("must be <description>"), so messages read the
// same as the docs.
import { LOOP_BODY_TYPES } from './step-types.ts';
import { waitConfigSchema } from './wait-config.ts';

export type Schema = Record<string, unknown>;

export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

const template = { type: 'string', format: 'weft-template' };
const orTemplate = (description: string, schema: Schema): Schema => ({
  description: `${description}, or a {{ }} template`,
  anyOf: [{ description, ...schema }, template],
});
export const isOrTemplate = (schema: unknown) =>
  (schema as { anyOf?: unknown[] } | undefined)?.anyOf?.length === 2 &&
  (schema as { anyOf: unknown[] }).anyOf[1] === template;
const stringMap = (what: string) =>
  orTemplate(`an object of ${what}`, {
    type: 'object',
    additionalProperties: { type: 'string', description: 'a string' },
  });
const httpUrl = {
  type: 'string',
  format: 'weft-http-url',
  description: 'an absolute http(s) URL (it may contain {{ }} templates)',
};
const nonEmpty = (description: string) => ({ type: 'string', minLength: 1, description });
const integer = (min: number, max: number, unit = '') => ({
  type: 'integer',
  minimum: min,
  maximum: max,
  description: `an integer${unit} from ${min} to ${max}`,
});
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** `retry` of a step (and of a loop's inner step). */
export const retrySchema: Schema = {
  type: 'object',
  description: 'an object { attempts, backoffSeconds, maxBackoffSeconds }',
  additionalProperties: false,
  properties: {
    attempts: integer(1, 20),
    backoffSeconds: { type: 'number', minimum: 0, maximum: 86_400, description: 'a number of seconds from 0 to 86400' },
    maxBackoffSeconds: {
      type: 'number',
      minimum: 0,
      maximum: 86_400,
      description: 'a number of seconds from 0 to 86400',
    },
  },
};

export const timeoutSecondsSchema: Schema = {
  type: 'number',
  minimum: 0.001,
  maximum: 86_400,
  description: 'a number of seconds from 0.001 to 86400',
};

/** The step types that do outside work (a loop's inner step is one of these). */
export const outboundConfigSchemas = {
  http_request: {
    type: 'object',
    required: ['url'],
    additionalProperties: false,
    properties: {
      method: { enum: [...METHODS, ...METHODS.map((m) => m.toLowerCase())] },
      url: httpUrl,
      headers: stringMap('header names to strings'),
      query: orTemplate('an object of strings, numbers or booleans', {
        type: 'object',
        additionalProperties: { type: ['string', 'number', 'boolean'], description: 'a string, number or boolean' },
      }),
      body: {},
      expectedStatus: {
        description: 'a status code (100–599), a non-empty list of them, or a {{ }} template',
        anyOf: [
          { type: 'integer', minimum: 100, maximum: 599 },
          { type: 'array', minItems: 1, items: { type: 'integer', minimum: 100, maximum: 599 } },
          template,
        ],
      },
      responseType: { enum: ['auto', 'json', 'text'] },
      maxResponseBytes: integer(1, MAX_RESPONSE_BYTES, ' (bytes)'),
      bodyFile: nonEmpty('an upload id (the file is sent as the body)'),
      form: orTemplate('an object { fields?, files? } (sent as multipart/form-data)', {
        type: 'object',
        additionalProperties: false,
        properties: {
          fields: { type: 'object', description: 'an object of field names to values' },
          files: {
            type: 'object',
            additionalProperties: { type: 'string', description: 'an upload id' },
            description: 'an object of field names to upload ids',
          },
        },
      }),
      saveAs: nonEmpty('a file name (the response body is stored as an attachment)'),
    },
  },
  webhook: {
    type: 'object',
    required: ['url'],
    additionalProperties: false,
    properties: {
      url: httpUrl,
      payload: {},
      headers: stringMap('header names to strings'),
      secret: nonEmpty('a non-empty string'),
    },
  },
  script: {
    type: 'object',
    required: ['language', 'source'],
    additionalProperties: false,
    properties: {
      language: { enum: ['shell', 'python'] },
      source: {
        type: 'string',
        minLength: 1,
        maxLength: 100_000,
        description: 'a non-empty string of at most 100000 characters',
      },
      args: orTemplate('a list of strings', { type: 'array', items: { type: 'string', description: 'a string' } }),
      env: orTemplate('an object of variable names to strings', {
        type: 'object',
        propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
        additionalProperties: { type: 'string', description: 'a string' },
      }),
      maxOutputBytes: integer(1, MAX_RESPONSE_BYTES, ' (bytes)'),
      files: orTemplate('a list of upload ids or { upload, as }', {
        type: 'array',
        maxItems: 20,
        items: {
          description: 'an upload id or { upload, as }',
          anyOf: [
            { type: 'string', description: 'an upload id' },
            {
              type: 'object',
              required: ['upload'],
              additionalProperties: false,
              properties: { upload: { type: 'string' }, as: { type: 'string', minLength: 1 } },
            },
          ],
        },
      }),
    },
  },
  agent_task: {
    type: 'object',
    required: ['goal'],
    additionalProperties: false,
    properties: {
      goal: nonEmpty('a non-empty string'),
      context: {},
      // A named agent (its id or name; src/agents/service.ts): its model, fallbacks and settings.
      agentId: nonEmpty("a non-empty string (an agent's id or name)"),
      model: nonEmpty('a non-empty string'),
      system: { type: 'string' },
      maxTokens: orTemplate('a positive integer', { type: 'integer', minimum: 1 }),
    },
  },
} satisfies Record<string, Schema>;

export const conditionConfigSchema: Schema = {
  type: 'object',
  required: ['expression'],
  additionalProperties: false,
  properties: { expression: nonEmpty('an expression string') },
};

export const loopConfigSchema: Schema = {
  type: 'object',
  required: ['items', 'step'],
  additionalProperties: false,
  properties: {
    items: nonEmpty('an expression string'),
    concurrency: integer(1, 50),
    maxItems: integer(1, 10_000),
    step: {
      type: 'object',
      description: 'an object { type, config, retry?, timeoutSeconds? }',
      required: ['type', 'config'],
      additionalProperties: false,
      properties: {
        type: { enum: [...LOOP_BODY_TYPES] },
        // Checked against the inner step type's own schema (validateStepConfig).
        config: { type: 'object', description: 'an object' },
        retry: retrySchema,
        timeoutSeconds: timeoutSecondsSchema,
      },
    },
  },
};

export const waitStepConfigSchema: Schema = waitConfigSchema(orTemplate);
