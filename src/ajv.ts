// The one way to build a JSON Schema validator: draft 2020-12 with the standard formats. The
// definition checker, the step-config schemas and run input/output schemas differ only in options.
import { Ajv2020, type Options } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { FILE_FORMAT, isFileRef } from './files/input-refs.ts';

// ajv-formats is CommonJS; under NodeNext its default import is typed as the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export function createAjv(options: Options): Ajv2020 {
  const ajv = new Ajv2020(options);
  addFormats(ajv);
  // Weft's own format: a run input naming a stored file (that it exists is checked at runWorkflow).
  ajv.addFormat(FILE_FORMAT, { type: 'string', validate: isFileRef });
  return ajv;
}
