// Checking a step's `config` against its type's JSON Schema (step-config-schemas.ts, paired with
// the type in the step-type registry), compiled once at module load and checked with ajv (draft
// 2020-12, every error at once), problems reported with the path of the offending field.
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from '../ajv.ts';
import { isWholeTemplate, scanTemplates } from '../engine/expressions.ts';
import type { Problem } from '../errors.ts';
import { STEP_REGISTRY } from '../engine/steps/registry.ts';
import { isOrTemplate, retrySchema } from './step-config-schemas.ts';
import { LOOP_BODY_TYPES, type StepType } from './step-types.ts';
import { waitShapeProblems } from './wait-config.ts';

type Path = (string | number)[];

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

/** The fields a step type's config has (the spellings module maps other spellings onto them). */
export function configKeysOf(type: StepType): string[] {
  return Object.keys((STEP_REGISTRY[type].configSchema as { properties?: object }).properties ?? {});
}

const ajv = createAjv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
ajv.addFormat('weft-template', { type: 'string', validate: isWholeTemplate });
ajv.addFormat('weft-http-url', { type: 'string', validate: isHttpUrlTemplate });
const configValidators = Object.fromEntries(
  Object.entries(STEP_REGISTRY).map(([type, spec]) => [type, ajv.compile(spec.configSchema)]),
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
      (LOOP_BODY_TYPES as readonly string[]).includes(innerType) &&
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
