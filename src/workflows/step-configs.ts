// One JSON Schema per step type's `config` (docs/definition.md), compiled once at module load
// and checked with ajv (draft 2020-12, every error at once). Strings may hold `{{ }}`
// templates, so where a template could stand for a number, a list or an object the schema also
// accepts a string that is exactly one template. A schema's `description` doubles as the
// problem message ("must be <description>"), so messages read the same as the docs.
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from '../ajv.ts';
import { isWholeTemplate, scanTemplates } from '../engine/expressions.ts';
import type { Problem } from '../errors.ts';
import type { StepType } from './step-types.ts';
import { waitConfigSchema, waitShapeProblems } from './wait-config.ts';

type Path = (string | number)[];
type Schema = Record<string, unknown>;

export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** A URL that may contain templates: literal parts must make an absolute http(s) URL. */
function isHttpUrlTemplate(text: string): boolean {
  const { matches } = scanTemplates(text);
  if (matches[0]?.start === 0) return true; // the scheme and host come from an expression
  let literal = '';
  let last = 0;
  for (const m of matches) {
    literal += `${text.slice(last, m.start)}0`;
    last = m.end;
  }
  literal += text.slice(last);
  try {
    const url = new URL(literal);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const template = { type: 'string', format: 'weft-template' };
const orTemplate = (description: string, schema: Schema): Schema => ({
  description: `${description}, or a {{ }} template`,
  anyOf: [{ description, ...schema }, template],
});
const isOrTemplate = (schema: unknown) =>
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

/** The step types that do outside work; a loop's inner step is one of these. */
const outboundSchemas = {
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

export const LOOP_STEP_TYPES = Object.keys(outboundSchemas) as (keyof typeof outboundSchemas)[];

const configSchemas: Record<StepType, Schema> = {
  ...outboundSchemas,
  condition: {
    type: 'object',
    required: ['expression'],
    additionalProperties: false,
    properties: { expression: nonEmpty('an expression string') },
  },
  loop: {
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
          type: { enum: LOOP_STEP_TYPES },
          // Checked against the inner step type's own schema (validateStepConfig).
          config: { type: 'object', description: 'an object' },
          retry: retrySchema,
          timeoutSeconds: timeoutSecondsSchema,
        },
      },
    },
  },
  wait: waitConfigSchema(orTemplate),
};

/** The fields a step type's config has (the spellings module maps other spellings onto them). */
export function configKeysOf(type: StepType): string[] {
  return Object.keys((configSchemas[type] as { properties?: object }).properties ?? {});
}

const ajv = createAjv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
ajv.addFormat('weft-template', { type: 'string', validate: isWholeTemplate });
ajv.addFormat('weft-http-url', { type: 'string', validate: isHttpUrlTemplate });
const configValidators = Object.fromEntries(
  Object.entries(configSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
) as Record<StepType, ValidateFunction>;
const validateRetrySchema = ajv.compile(retrySchema);

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known name closest to a misspelt one, when it is close enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | null {
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | null = null;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    const distance =
      c.startsWith(lower) || lower.startsWith(c) ? Math.min(levenshtein(lower, c), 1) : levenshtein(lower, c);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) && lower.length >= 2 ? best.name : null;
}

/** "Unknown field 'dependOn'; did you mean 'dependsOn'?" — or the list of known fields. */
export function unknownFieldMessage(name: string, known: readonly string[]): string {
  const closest = closestName(name, known);
  return `Unknown field '${name}'; ${closest ? `did you mean '${closest}'?` : `known fields: ${known.join(', ')}`}`;
}

/** JSON Pointer → path segments; array indexes become numbers (the data says which are arrays). */
function pointerToPath(pointer: string, data: unknown): Path {
  const path: Path = [];
  let node = data;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(node) && /^\d+$/.test(segment) ? Number(segment) : segment;
    path.push(key);
    node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[key] : undefined;
  }
  return path;
}

/** ajv errors as problems: one per place, worded for people. */
function toProblems(
  errors: ErrorObject[] | null | undefined,
  data: unknown,
  path: Path,
  stepId: string | null,
): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  // A failing anyOf also reports why each of its branches failed. Usually its own (described)
  // error says it best; but when an object or a list was given where a template was also
  // allowed, the template branch is beside the point: show what is wrong inside the value.
  const expanded = (errors ?? [])
    .filter(
      (e) => e.keyword === 'anyOf' && isOrTemplate(e.parentSchema) && typeof e.data === 'object' && e.data !== null,
    )
    .map((e) => `${e.schemaPath}/0/`);
  for (const e of errors ?? []) {
    if (e.keyword === 'anyOf' && expanded.includes(`${e.schemaPath}/0/`)) continue;
    const branch = expanded.find((prefix) => e.schemaPath.startsWith(prefix));
    if ((branch ? e.schemaPath.slice(branch.length) : e.schemaPath).includes('/anyOf/')) continue;
    const at = [...path, ...pointerToPath(e.instancePath, data)];
    const description = (e.parentSchema as { description?: string } | undefined)?.description;
    let message: string;
    if (e.keyword === 'required') {
      at.push((e.params as { missingProperty: string }).missingProperty);
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      const name = (e.params as { additionalProperty: string }).additionalProperty;
      at.push(name);
      message = unknownFieldMessage(name, Object.keys((e.parentSchema as { properties?: object }).properties ?? {}));
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'propertyNames') {
      continue; // the failing name is reported by the error inside propertyNames
    } else if (e.propertyName !== undefined) {
      at.push(e.propertyName);
      message = 'is not a valid name (letters, digits and _, not starting with a digit)';
    } else {
      message = description ? `must be ${description}` : (e.message ?? 'is invalid');
    }
    const key = `${at.join('\u0000')}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path: at, message, stepId });
  }
  return problems;
}

/**
 * Problems in a step's config; `path` points at the config. A loop's inner step config is
 * checked against its own type's schema even when the loop's other settings have problems.
 */
export function validateStepConfig(type: StepType, config: unknown, path: Path, stepId: string | null): Problem[] {
  const validate = configValidators[type];
  const problems = validate(config) ? [] : toProblems(validate.errors, config, path, stepId);
  if (type === 'wait') problems.push(...waitShapeProblems(config, path, stepId));
  if (type === 'loop' && config && typeof config === 'object') {
    const inner = (config as { step?: { type?: unknown; config?: unknown } }).step;
    const innerType = inner?.type as StepType | undefined;
    if (
      innerType &&
      (LOOP_STEP_TYPES as string[]).includes(innerType) &&
      inner!.config &&
      typeof inner!.config === 'object' &&
      !Array.isArray(inner!.config)
    ) {
      const innerValidate = configValidators[innerType];
      if (!innerValidate(inner!.config))
        problems.push(...toProblems(innerValidate.errors, inner!.config, [...path, 'step', 'config'], stepId));
    }
  }
  return problems;
}

/** Problems in a step's `retry`; `path` points at it. */
export function validateRetry(retry: unknown, path: Path, stepId: string | null): Problem[] {
  return validateRetrySchema(retry) ? [] : toProblems(validateRetrySchema.errors, retry, path, stepId);
}
