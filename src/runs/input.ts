// Validating a run's input against the workflow's input JSON Schema. Every violation is
// reported with its path. `sensitive: true` on a property is Weft's own annotation.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Problem } from '../errors.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addKeyword({ keyword: 'sensitive', schemaType: 'boolean' });

const cache = new Map<string, ValidateFunction>();

function compiled(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = cache.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    if (cache.size > 500) cache.clear();
    cache.set(key, validate);
  }
  return validate;
}

function pathOf(error: ErrorObject): (string | number)[] {
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') segments.push(String((error.params as { missingProperty: string }).missingProperty));
  if (error.keyword === 'additionalProperties') segments.push(String((error.params as { additionalProperty: string }).additionalProperty));
  return segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Problems with `input` under `schema`; paths are prefixed with `prefix`. */
export function validateRunInput(schema: unknown, input: unknown, prefix: (string | number)[]): Problem[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return [{ path: prefix, message: 'must be a JSON object' }];
  if (!schema || typeof schema !== 'object') return [];
  const validate = compiled(schema);
  if (validate(input)) return [];
  return (validate.errors ?? []).map((e) => ({
    path: [...prefix, ...pathOf(e)],
    message: e.keyword === 'required' ? 'is required' : e.keyword === 'additionalProperties' ? 'is not allowed' : (e.message ?? 'is invalid'),
  }));
}
