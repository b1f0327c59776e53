// Files: storing uploads and step attachments (bytes in the object store, a metadata row in
// Upload), opening them for download, deleting them. Every function is scoped to the caller's
// workspace. Order of a write: stage and hash → put the object → insert the row. A crash after
// the put leaves an object with no row, which gc.ts collects; never a row without its object.
import type { Readable } from 'node:stream';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { StepFileInfo } from '../engine/steps/types.ts';
import type { Prisma, Upload } from '../generated/prisma/client.ts';
import { NotFoundError, ValidationError, WeftError } from '../errors.ts';
import { inWorkspace } from '../ids.ts';
import type { Actor, ServiceScope } from '../scope.ts';
import { stage } from './ingest.ts';
import { objectKey, type ObjectStore } from './store.ts';

/** The object store and the limits files are taken within (built once from Config). */
export interface FileStorage {
  store: ObjectStore;
  /** Temporary files while an upload streams in (Weft's own directory). */
  stagingDir: string;
  /** WEFT_MAX_UPLOAD_BYTES: the largest single file. */
  maxUploadBytes: number;
  /** WEFT_WORKSPACE_QUOTA_BYTES: all files of a workspace together; null: no quota. */
  workspaceQuotaBytes: number | null;
}

export type FileScope = Pick<ServiceScope, 'prisma' | 'workspaceId'> & { actor: Actor };

export interface NewFile {
  filename: string;
  contentType?: string | null;
  workflowId?: string | null;
  runId?: string | null;
  stepId?: string | null;
  iteration?: number | null;
  kind?: 'UPLOAD' | 'ATTACHMENT';
}

const MAX_FILENAME = 255;

/** A file name as stored: its last path component, without control characters; refused when nothing is left. */
export function cleanFilename(name: string, path: (string | number)[] = ['filename']): string {
  const base = name.replaceAll('\\', '/').split('/').pop() ?? '';
  const cleaned = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (!cleaned || cleaned === '.' || cleaned === '..')
    throw ValidationError.single(path, 'must be a file name (not empty, not a path)');
  if (cleaned.length > MAX_FILENAME) throw ValidationError.single(path, `must be at most ${MAX_FILENAME} characters`);
  return cleaned;
}

const CONTENT_TYPE =
  /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;\s*[a-z0-9!#$&^_.+-]+=("[^"]*"|[a-z0-9!#$&^_.+-]+))*$/i;

/** A content type as sent, when it is a well-formed media type; application/octet-stream otherwise. */
export function cleanContentType(value: string | null | undefined): string {
  const trimmed = value?.trim() ?? '';
  return trimmed && trimmed.length <= 200 && CONTENT_TYPE.test(trimmed) ? trimmed : 'application/octet-stream';
}

export class QuotaExceededError extends WeftError {
  constructor(quota: number, used: number, size: number) {
    super(
      'QUOTA_EXCEEDED',
      `The workspace's files would take ${used + size} bytes, more than its quota of ${quota} bytes (WEFT_WORKSPACE_QUOTA_BYTES)`,
      { quota, used, size },
    );
    this.name = 'QuotaExceededError';
  }
}

async function usedBytes(tx: Prisma.TransactionClient, workspaceId: string): Promise<number> {
  const sum = await tx.upload.aggregate({ where: { workspaceId }, _sum: { size: true } });
  return Number(sum._sum.size ?? 0n);
}

/**
 * Stores a file from a stream. The size limit cuts the stream off as soon as it is passed; the
 * quota is checked before (declared size) and again under the workspace's row lock when the row
 * is inserted, so concurrent uploads cannot together pass it.
 */
export async function storeFile(
  scope: FileScope,
  files: FileStorage,
  source: Readable | AsyncIterable<Uint8Array>,
  file: NewFile,
  options: {
    declaredSize?: number /** More writes committed with the row (an attachment's run event). */;
    alongside?: (tx: Prisma.TransactionClient, row: Upload) => Promise<void>;
  } = {},
): Promise<Upload> {
  const declaredSize = options.declaredSize;
  const filename = cleanFilename(file.filename);
  if (file.workflowId) {
    const workflow = await scope.prisma.workflow.findFirst({
      where: inWorkspace(file.workflowId, scope),
      select: { id: true },
    });
    if (!workflow) throw new NotFoundError('Workflow', file.workflowId);
  }
  const quota = files.workspaceQuotaBytes;
  if (quota !== null && declaredSize !== undefined) {
    const used = await usedBytes(scope.prisma, scope.workspaceId);
    if (used + declaredSize > quota) throw new QuotaExceededError(quota, used, declaredSize);
  }
  const staged = await stage(source, files.stagingDir, files.maxUploadBytes);
  try {
    // Always written (not skipped when the object exists): a fresh write also renews the
    // object's age, so the garbage collector's grace period covers this upload until its row exists.
    await files.store.putFile(objectKey(staged.sha256), staged.path, staged.size);
  } finally {
    await staged.discard();
  }
  return scope.prisma.$transaction(async (tx) => {
    if (quota !== null) {
      await tx.$executeRaw`SELECT 1 FROM "Workspace" WHERE id = ${scope.workspaceId}::uuid FOR UPDATE`;
      const used = await usedBytes(tx, scope.workspaceId);
      if (used + staged.size > quota) throw new QuotaExceededError(quota, used, staged.size);
    }
    const row = await tx.upload.create({
      data: {
        workspaceId: scope.workspaceId,
        workflowId: file.workflowId ?? null,
        runId: file.runId ?? null,
        stepId: file.stepId ?? null,
        iteration: file.iteration ?? null,
        kind: file.kind ?? 'UPLOAD',
        filename,
        contentType: cleanContentType(file.contentType),
        size: BigInt(staged.size),
        sha256: staged.sha256,
        createdById: scope.actor.kind === 'system' ? null : scope.actor.id,
        createdByKind: scope.actor.kind,
      },
    });
    await options.alongside?.(tx, row);
    return row;
  });
}

/** Where a file is downloaded from (relative to the server's origin). */
export function downloadPath(id: string): string {
  return `/api/files/${encodeURIComponent(encodeGlobalID('Upload', id))}`;
}

/** A file as REST answers, step outputs and run events show it (`id` is the global ID). */
export function fileInfo(row: Upload): StepFileInfo {
  return {
    id: encodeGlobalID('Upload', row.id),
    filename: row.filename,
    contentType: row.contentType,
    size: Number(row.size),
    sha256: row.sha256,
    downloadUrl: downloadPath(row.id),
  };
}

/** A file of the caller's workspace, or NOT_FOUND (also for another workspace's file). */
export async function findFile(scope: Pick<FileScope, 'prisma' | 'workspaceId'>, id: string): Promise<Upload> {
  const row = await scope.prisma.upload.findFirst({ where: inWorkspace(id, scope) });
  if (!row) throw new NotFoundError('Upload', id);
  return row;
}

/** Opens a file's bytes (whole, or an inclusive range already checked against its size). */
export function openFile(
  files: FileStorage,
  row: Pick<Upload, 'sha256'>,
  range?: { start: number; end: number },
): Promise<Readable> {
  return files.store.get(objectKey(row.sha256), range);
}

/**
 * Deletes a file's row. Its bytes go when no row names them any more: the garbage collector
 * removes them (not here, where a concurrent upload of the same bytes could be between writing
 * the object and inserting its row).
 */
export async function deleteFile(scope: Pick<FileScope, 'prisma' | 'workspaceId'>, id: string): Promise<Upload> {
  const row = await findFile(scope, id);
  await scope.prisma.upload.deleteMany({ where: { id: row.id, workspaceId: scope.workspaceId } });
  return row;
}
