// Files in and out of steps: parsing file references of a step's config, copying input files
// into a script's /job/input, and storing what a script left in /job/output as attachments.
import { constants, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isPlainObject } from '../../json.ts';
import { NonRetriableError, type StepContext, type StepFileInfo, type StepFiles } from './types.ts';

const MAX_INPUT_FILES = 20;
/** Attachments one attempt may store; more are skipped and logged. */
export const MAX_ATTACHMENTS = 50;

const TYPES: Record<string, string> = {
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.html': 'text/html',
  '.xml': 'application/xml',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.zip': 'application/zip',
  '.md': 'text/markdown',
};

/** A content type from a file name's extension (application/octet-stream when unknown). */
export function contentTypeOf(filename: string): string {
  return TYPES[path.extname(filename).toLowerCase()] ?? 'application/octet-stream';
}

/** The step's files: `ctx.files`, or a NonRetriableError naming the field that needs them. */
export function filesOf(ctx: StepContext, field: string): StepFiles {
  if (!ctx.files) throw new NonRetriableError(`${field}: this server has no file storage for steps`);
  return ctx.files;
}

export interface FileRef {
  ref: unknown;
  as: string | null;
}

/** `files: [id, { upload: id, as: "name" }]` of a step's config. */
export function parseFileRefs(value: unknown, field: string): FileRef[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new NonRetriableError(`${field} must be a list of upload ids (or { upload, as })`);
  if (value.length > MAX_INPUT_FILES)
    throw new NonRetriableError(`${field} has ${value.length} files, more than ${MAX_INPUT_FILES}`);
  return value.map((item, i) => {
    if (typeof item === 'string') return { ref: item, as: null };
    if (
      isPlainObject(item) &&
      typeof item.upload === 'string' &&
      (item.as === undefined || typeof item.as === 'string')
    )
      return { ref: item.upload, as: (item.as as string | undefined) ?? null };
    throw new NonRetriableError(`${field}[${i}] must be an upload id or { upload: <id>, as: <file name> }`);
  });
}

/** A name safe as one path component inside the sandbox's directories. */
function safeName(name: string, field: string): string {
  const base = path.basename(name.replaceAll('\\', '/'));
  if (!base || base === '.' || base === '..' || base.includes('\0'))
    throw new NonRetriableError(`${field}: ${JSON.stringify(name)} is not a usable file name`);
  return base;
}

/** Copies the input files into `dir` (read-only for the script); returns what was placed where. */
export async function placeInputFiles(
  ctx: StepContext,
  refs: FileRef[],
  dir: string,
  field: string,
): Promise<{ name: string; file: StepFileInfo }[]> {
  if (!refs.length) return [];
  const files = filesOf(ctx, field);
  const placed: { name: string; file: StepFileInfo }[] = [];
  const seen = new Set<string>();
  for (const [i, item] of refs.entries()) {
    const file = await files.open(item.ref, `${field}[${i}]`);
    const name = safeName(item.as ?? file.filename, `${field}[${i}]`);
    if (seen.has(name))
      throw new NonRetriableError(
        `${field}[${i}]: two input files are named ${JSON.stringify(name)}; give one another name with { upload, as }`,
      );
    seen.add(name);
    await pipeline(await file.read(), createWriteStream(path.join(dir, name), { mode: 0o444, flags: 'wx' }));
    const { read: _read, ...info } = file;
    placed.push({ name, file: info });
  }
  return placed;
}

/**
 * Stores the regular files a script left at the top of `dir` as attachments of its step.
 * Symbolic links and anything else are skipped (never followed: they could name the server's
 * files), and so are files beyond MAX_ATTACHMENTS.
 */
export async function collectOutputFiles(ctx: StepContext, dir: string): Promise<StepFileInfo[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  if (!names.length) return [];
  const files = filesOf(ctx, 'script output files');
  const stored: StepFileInfo[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    const info = await lstat(full);
    if (!info.isFile()) {
      ctx.log(`output/${name} is not a regular file; not attached`);
      continue;
    }
    if (stored.length >= MAX_ATTACHMENTS) {
      ctx.log(`more than ${MAX_ATTACHMENTS} files in output/; the rest are not attached`);
      break;
    }
    const handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      stored.push(
        await files.attach(handle.createReadStream({ autoClose: false }), {
          filename: name,
          contentType: contentTypeOf(name),
        }),
      );
    } finally {
      await handle.close();
    }
    ctx.log(`attached output/${name} (${info.size} bytes)`);
  }
  return stored;
}

/** Creates a directory in an attempt's /job. */
export async function makeJobDir(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
}
