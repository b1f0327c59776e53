// http_request with files: `bodyFile` sends an upload as the request body (streamed), `form`
// sends fields and uploads as multipart/form-data, `saveAs` stores the response body as an
// attachment of the step (streamed; the output then holds the attachment, not the body).
import { Readable } from 'node:stream';
// The FormData of the undici that sends outbound requests (outbound.ts): Node's global one is another class to it.
import { FormData } from 'undici';
import { isPlainObject } from '../../json.ts';
import { MIB } from './limits.ts';
import { filesOf } from './step-file-io.ts';
import { NonRetriableError, type StepContext, type StepFileInfo } from './types.ts';

/** Each file of a multipart form is held in memory while the request is built: at most this much. */
export const MAX_FORM_FILE_BYTES = 32 * MIB;

export type FileBody = { body: ReadableStream | FormData; contentType: string | null; streamed: boolean };

/** The request body from `bodyFile` or `form`; null when the step sends neither. */
export async function fileBody(ctx: StepContext): Promise<FileBody | null> {
  const { bodyFile, form, body } = ctx.config;
  const given = [bodyFile, form, body].filter((v) => v !== undefined && v !== null).length;
  if (given > 1) throw new NonRetriableError('http_request: give one of body, bodyFile and form');
  if (bodyFile !== undefined && bodyFile !== null) {
    const file = await filesOf(ctx, 'http_request.bodyFile').open(bodyFile, 'http_request.bodyFile');
    ctx.log(`sending ${file.filename} (${file.size} bytes) as the body`);
    return { body: Readable.toWeb(await file.read()) as ReadableStream, contentType: file.contentType, streamed: true };
  }
  if (form === undefined || form === null) return null;
  if (!isPlainObject(form)) throw new NonRetriableError('http_request.form must be an object { fields?, files? }');
  const data = new FormData();
  const fields = form.fields ?? {};
  if (!isPlainObject(fields))
    throw new NonRetriableError('http_request.form.fields must be an object of field names to values');
  for (const [name, value] of Object.entries(fields))
    data.append(name, typeof value === 'string' ? value : JSON.stringify(value));
  const files = form.files ?? {};
  if (!isPlainObject(files))
    throw new NonRetriableError('http_request.form.files must be an object of field names to upload ids');
  for (const [name, ref] of Object.entries(files)) {
    const file = await filesOf(ctx, `http_request.form.files.${name}`).open(ref, `http_request.form.files.${name}`);
    if (file.size > MAX_FORM_FILE_BYTES)
      throw new NonRetriableError(
        `http_request.form.files.${name}: ${file.filename} is ${file.size} bytes, more than ${MAX_FORM_FILE_BYTES} a form file may have (send large files with bodyFile)`,
      );
    const chunks: Buffer[] = [];
    for await (const chunk of await file.read()) chunks.push(chunk as Buffer);
    data.append(name, new Blob([new Uint8Array(Buffer.concat(chunks))], { type: file.contentType }), file.filename);
  }
  // fetch sets the multipart content type with its boundary.
  return { body: data, contentType: null, streamed: false };
}

/** Stores a response body as the attachment `saveAs`. */
export async function saveResponse(ctx: StepContext, response: Response, saveAs: unknown): Promise<StepFileInfo> {
  if (typeof saveAs !== 'string' || !saveAs.trim())
    throw new NonRetriableError('http_request.saveAs must be a file name');
  const files = filesOf(ctx, 'http_request.saveAs');
  const source = response.body ? Readable.fromWeb(response.body as never) : Readable.from([]);
  const stored = await files.attach(source, { filename: saveAs, contentType: response.headers.get('content-type') });
  ctx.log(`saved the response body as ${stored.filename} (${stored.size} bytes)`);
  return stored;
}
