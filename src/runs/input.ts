// Validating a run's input against the workflow's input JSON Schema. Every violation is
// reported with its path. `sensitive: true` on a property is Weft's own annotation.
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { Problem } from '../errors.ts';
import { compileJsonSchema } from './json-schema.ts';

function pathOf(error: ErrorObject): (string | number)[] {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required')
    segments.push(String((error.params as { missingProperty: string }).missingProperty));
  if (error.keyword === 'additionalProperties')
    segments.push(String((error.params as { additionalProperty: string }).additionalProperty));
  return segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Problems with `input` under `schema`; paths are prefixed with `prefix`. */
export function validateRunInput(schema: unknown, input: unknown, prefix: (string | number)[]): Problem[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return [{ path: prefix, message: 'must be a JSON object' }];
  if (!schema || typeof schema !== 'object') return [];
  const validate = compileJsonSchema(schema);
  if (validate(input)) return [];
  return (validate.errors ?? []).map((e) => ({
    path: [...prefix, ...pathOf(e)],
    message:
      e.keyword === 'required'
        ? 'is required'
        : e.keyword === 'additionalProperties'
          ? 'is not allowed'
          : (e.message ?? 'is invalid'),
  }));
}
