// Workflow metadata patches (docs/workflows.md): metadata set to null
// clears all of it, a key set to null removes only that key, other keys are merged (shallow:
// a nested object given for a key replaces that key's value). Leaving metadata out of a patch
// leaves it unchanged; that is the caller's business (absent ≠ null).
import type { Problem } from '../errors.ts';
import { isPlainObject } from '../json.ts';

/** Problems with a metadata patch (a JSON object or null). */
export function checkMetadataPatch(patch: unknown, path: (string | number)[]): Problem[] {
  return patch === null || isPlainObject(patch)
    ? []
    : [{ path, message: 'must be a JSON object (or null to clear all metadata)' }];
}

/** The metadata after applying `patch`; null when everything was cleared. */
export function mergeMetadata(current: unknown, patch: Record<string, unknown> | null): Record<string, unknown> | null {
  if (patch === null) return null;
  const result: Record<string, unknown> = isPlainObject(current) ? { ...current } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = value;
  }
  return result;
}
