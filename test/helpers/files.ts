// Helpers for file tests: a private files directory per app, uploads over the plain route and
// the GraphQL multipart spec, and downloads.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { print, type GraphQLFormattedError } from 'graphql';
import { graphql } from '../generated/gql.ts';
import type { FilesUploadMutation } from '../generated/graphql.ts';
import type { TestApp } from './app.ts';

/** An upload as PUT /api/uploads describes it. */
export interface UploadJson {
  id: string;
  filename: string;
  size: number;
  sha256: string;
  contentType: string;
  downloadUrl: string;
}

/** PUT /api/uploads's JSON body: `upload` when it was stored (201), otherwise `errors`. */
export interface PutUploadBody {
  upload: UploadJson;
  errors: GraphQLFormattedError[];
}

const UploadFile = graphql(`
  mutation FilesUpload($input: UploadFileInput!) {
    uploadFile(input: $input) {
      __typename
      ... on UploadPayload {
        upload {
          id
          filename
          size
          sha256
          contentType
          downloadUrl
        }
      }
      ... on Error {
        code
        message
      }
    }
  }
`);

/** Env giving a test app its own files directory (never the repository's .weft). */
export function filesEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { WEFT_FILES_DIR: mkdtempSync(path.join(tmpdir(), 'weft-files-')), ...extra };
}

/** PUT /api/uploads in-process (yoga-less route: goes through app.fetch of a served app or raw). */
export async function putUpload(
  base: string,
  headers: Record<string, string>,
  body: BodyInit,
  query: Record<string, string>,
  contentType = 'text/plain',
) {
  const response = await fetch(`${base}/api/uploads?${new URLSearchParams(query)}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': contentType },
    body,
    duplex: 'half',
  } as RequestInit);
  return { status: response.status, headers: response.headers, body: (await response.json()) as PutUploadBody };
}

/** uploadFile through the GraphQL multipart request spec (in-process, yoga.fetch). */
export async function gqlUpload(
  t: TestApp,
  file: File,
  input: Record<string, unknown> = {},
  headers: Record<string, string> = t.authHeaders,
) {
  const form = new FormData();
  const query = print(UploadFile);
  form.append('operations', JSON.stringify({ query, variables: { input: { ...input, file: null } } }));
  form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.append('0', file);
  const response = await t.app.yoga.fetch('http://weft.test/graphql', {
    method: 'POST',
    headers: { ...headers, 'x-weft-csrf': '1' },
    body: form,
  });
  return {
    status: response.status,
    ...((await response.json()) as { data?: FilesUploadMutation | null; errors?: GraphQLFormattedError[] }),
  };
}
