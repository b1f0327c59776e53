// includesFileExports: a workflow that sets it has files declared in its steps' outputs stored
// as run attachments. A step declares a file with an object { "$file": { "name", "base64" } }
// (the bytes inline) or { "$file": { "name", "url" } } (fetched through the same outbound
// policy as http_request); each is replaced in the recorded output by the stored file's info.
import { Readable } from 'node:stream';
import { isPlainObject } from '../json.ts';
import type { StepFiles } from '../engine/steps/types.ts';
import { NonRetriableError } from '../engine/steps/types.ts';

const MARKER = '$file';
const MAX_DEPTH = 20;
const MAX_FILES = 50;

/** Whether an output declares any file (cheap: most outputs do not, and then nothing is queried). */
export function declaresFiles(value: unknown, depth = 0): boolean {
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.some((item) => declaresFiles(item, depth + 1));
  if (!isPlainObject(value)) return false;
  if (isPlainObject(value[MARKER])) return true;
  return Object.values(value).some((item) => declaresFiles(item, depth + 1));
}

async function store(
  declared: Record<string, unknown>,
  files: StepFiles,
  fetch: (url: string) => Promise<Response>,
  path: string,
) {
  const name = declared.name;
  if (typeof name !== 'string' || !name.trim()) throw new NonRetriableError(`${path}.$file.name must be a file name`);
  const contentType = typeof declared.contentType === 'string' ? declared.contentType : null;
  if (typeof declared.base64 === 'string') {
    return files.attach(Readable.from([Buffer.from(declared.base64, 'base64')]), { filename: name, contentType });
  }
  if (typeof declared.url === 'string') {
    const response = await fetch(declared.url);
    if (!response.ok || !response.body) throw new Error(`${path}.$file.url answered ${response.status}`);
    return files.attach(Readable.fromWeb(response.body as never), {
      filename: name,
      contentType: contentType ?? response.headers.get('content-type'),
    });
  }
  throw new NonRetriableError(`${path}.$file needs base64 or url`);
}

/** The output with each declared file stored and replaced by its info. */
export async function exportDeclaredFiles(
  value: unknown,
  files: StepFiles,
  fetch: (url: string) => Promise<Response>,
): Promise<unknown> {
  let count = 0;
  const walk = async (item: unknown, path: string, depth: number): Promise<unknown> => {
    if (depth > MAX_DEPTH) return item;
    if (Array.isArray(item)) {
      const out: unknown[] = [];
      for (const [i, element] of item.entries()) out.push(await walk(element, `${path}[${i}]`, depth + 1));
      return out;
    }
    if (!isPlainObject(item)) return item;
    if (isPlainObject(item[MARKER])) {
      if (++count > MAX_FILES) throw new NonRetriableError(`the output declares more than ${MAX_FILES} files`);
      return { [MARKER]: await store(item[MARKER], files, fetch, path) };
    }
    const out: Record<string, unknown> = {};
    for (const [key, element] of Object.entries(item)) out[key] = await walk(element, `${path}.${key}`, depth + 1);
    return out;
  };
  return walk(value, 'output', 0);
}
