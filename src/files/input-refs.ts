// Run inputs that reference files: a string property whose JSON Schema says
// `format: "weft-file"` holds an upload's id. The format checks the shape (json-schema.ts);
// here, at runWorkflow, each such value must name a file of the caller's workspace.
import type { PrismaClient } from '../db/client.ts';
import type { Problem } from '../errors.ts';
import { idFromPathSegment } from '../ids.ts';
import { isPlainObject } from '../json.ts';

export const FILE_FORMAT = 'weft-file';

/** Whether a value has the shape of a file reference (a raw UUID or an Upload global ID). */
export function isFileRef(value: string): boolean {
  return idFromPathSegment(value, 'Upload') !== null;
}

/** The weft-file values of `input` under `schema` (properties, items, prefixItems), with their paths. */
export function fileRefsIn(
  schema: unknown,
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; value: string }[] {
  if (!isPlainObject(schema)) return [];
  if (schema.format === FILE_FORMAT && typeof value === 'string') return [{ path, value }];
  const found: { path: (string | number)[]; value: string }[] = [];
  if (isPlainObject(schema.properties) && isPlainObject(value)) {
    for (const [key, sub] of Object.entries(schema.properties))
      if (key in value) found.push(...fileRefsIn(sub, value[key], [...path, key]));
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const sub =
        Array.isArray(schema.prefixItems) && i < schema.prefixItems.length ? schema.prefixItems[i] : schema.items;
      found.push(...fileRefsIn(sub, item, [...path, i]));
    });
  }
  return found;
}

/** Problems for weft-file values that name no file of the workspace (one query for all). */
export async function fileInputProblems(
  prisma: PrismaClient,
  workspaceId: string,
  schema: unknown,
  input: unknown,
  prefix: (string | number)[],
): Promise<Problem[]> {
  const refs = fileRefsIn(schema, input).map((ref) => ({ ...ref, id: idFromPathSegment(ref.value, 'Upload') }));
  if (!refs.length) return [];
  const ids = [...new Set(refs.flatMap((ref) => (ref.id ? [ref.id] : [])))];
  const found = new Set(
    ids.length
      ? (await prisma.upload.findMany({ where: { workspaceId, id: { in: ids } }, select: { id: true } })).map(
          (row) => row.id,
        )
      : [],
  );
  return refs
    .filter((ref) => !ref.id || !found.has(ref.id))
    .map((ref) => ({
      path: [...prefix, ...ref.path],
      message: `no file ${JSON.stringify(ref.value)} in this workspace (upload it first; give its id)`,
    }));
}
