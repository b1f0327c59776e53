// One JSON Schema compiler for run inputs and outputs (draft 2020-12, formats, Weft's
// `sensitive` keyword). Compiled validators are cached by the schema's text — definitions are
// copied into every run, so caching by object would grow without bound — and schemas are never
// registered by their $id, so two workflows (or two runs) using the same $id do not clash.
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from '../ajv.ts';

export const ajv = createAjv({ allErrors: true, strict: false, addUsedSchema: false });
ajv.addKeyword({ keyword: 'sensitive', schemaType: 'boolean' });

const CACHE_LIMIT = 500;
const cache = new Map<string, ValidateFunction>();

export function compileJsonSchema(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = cache.get(key);
  if (!validate) {
    if (cache.size >= CACHE_LIMIT) {
      cache.clear();
      ajv.removeSchema(); // drops ajv's own cache of compiled schemas too
    }
    validate = ajv.compile(schema);
    cache.set(key, validate);
  }
  return validate;
}
