// Plain HTTP routes for files, for large files and scripts (no multipart, no GraphQL):
//   PUT|POST /api/uploads?filename=<name>[&workflowId=<id>]   the body is the file (streamed)
//   GET|HEAD /api/files/<uploadId>                            download (Range, Content-Disposition)
// Both answer for the caller's workspace only, with the same authentication as GraphQL.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Upload } from '../generated/prisma/client.ts';
import { WeftError } from '../errors.ts';
import {
  downloadPath,
  fileInfo,
  findFile,
  openFile,
  storeFile,
  type FileScope,
  type FileStorage,
} from '../files/service.ts';
import { idFromPathSegment, parseGlobalId } from '../ids.ts';
import { decodePathSegment } from './request.ts';
import { sendError, sendJson, sendWeftError } from './respond.ts';

const DOWNLOAD = /^\/api\/files\/([^/]+)$/;

/** 'upload' / the file id of a download / undefined: not a files route. */
export function matchFilesRoute(
  method: string | undefined,
  path: string,
): { kind: 'upload' } | { kind: 'download'; ref: string | null } | undefined {
  if (path === '/api/uploads' && (method === 'PUT' || method === 'POST')) return { kind: 'upload' };
  const match = DOWNLOAD.exec(path);
  if (match && (method === 'GET' || method === 'HEAD')) return { kind: 'download', ref: decodePathSegment(match[1]!) };
  return undefined;
}

export async function handleUpload(
  req: IncomingMessage,
  res: ServerResponse,
  search: string,
  scope: FileScope,
  files: FileStorage,
) {
  const query = new URLSearchParams(search);
  const filename = query.get('filename');
  if (!filename)
    return sendError(res, 'VALIDATION_FAILED', 'The file name is missing: add ?filename=<name> to the address', {
      details: { problems: [{ path: ['filename'], message: 'is required' }] },
    });
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && declared > files.maxUploadBytes) {
    return sendError(
      res,
      'PAYLOAD_TOO_LARGE',
      `The file is larger than the limit of ${files.maxUploadBytes} bytes (WEFT_MAX_UPLOAD_BYTES)`,
      { headers: { connection: 'close' } },
    );
  }
  try {
    const workflowRef = query.get('workflowId');
    const workflowId = workflowRef ? parseGlobalId(workflowRef, 'Workflow') : null;
    const row = await storeFile(
      scope,
      files,
      req,
      { filename, contentType: req.headers['content-type'] ?? null, workflowId },
      { declaredSize: declared },
    );
    return sendJson(res, 201, { upload: fileInfo(row) }, { location: downloadPath(row.id) });
  } catch (error) {
    if (!(error instanceof WeftError)) throw error;
    // The rest of a refused body is not read: close the connection rather than drain it.
    return sendWeftError(
      res,
      error.code === 'PAYLOAD_TOO_LARGE' || error.code === 'QUOTA_EXCEEDED' ? withClose(error) : error,
    );
  }
}

function withClose(error: WeftError): WeftError {
  (error.extensions as Record<string, unknown>).http = { headers: { connection: 'close' } };
  return error;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range); null: no usable Range; 'unsatisfiable'. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** RFC 6266: an ASCII fallback and the exact name in UTF-8. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export async function handleDownload(
  req: IncomingMessage,
  res: ServerResponse,
  ref: string | null,
  scope: Pick<FileScope, 'prisma' | 'workspaceId'>,
  files: FileStorage,
) {
  const id = ref === null ? null : idFromPathSegment(ref, 'Upload');
  if (!id) return sendError(res, 'NOT_FOUND', 'No file at this address');
  let row: Upload;
  try {
    row = await findFile(scope, id);
  } catch (error) {
    if (error instanceof WeftError) return sendWeftError(res, error);
    throw error;
  }
  const size = Number(row.size);
  const range = parseRange(req.headers.range, size);
  const headers: Record<string, string | number> = {
    'content-type': row.contentType,
    'content-disposition': contentDisposition(row.filename),
    'accept-ranges': 'bytes',
    etag: `"${row.sha256}"`,
    'x-content-type-options': 'nosniff',
    // A stored file is never rendered as a page of this origin.
    'content-security-policy': "default-src 'none'; sandbox",
  };
  if (range === 'unsatisfiable')
    return sendError(res, 'RANGE_NOT_SATISFIABLE', `The range is outside the file (${size} bytes)`, {
      headers: { 'content-range': `bytes */${size}` },
    });
  const status = range ? 206 : 200;
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
  headers['content-length'] = range ? range.end - range.start + 1 : size;
  if (req.method === 'HEAD' || size === 0) {
    res.writeHead(status, headers);
    return res.end();
  }
  const body = await openFile(files, row, range ?? undefined);
  res.writeHead(status, headers);
  body.on('error', () => res.destroy());
  res.on('close', () => body.destroy());
  body.pipe(res);
}
