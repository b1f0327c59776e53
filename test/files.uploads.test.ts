// Uploads on the default local store: the plain PUT route and the GraphQL multipart spec,
// listing (Workflow.uploads, uploads), downloads with Range and Content-Disposition, limits and
// quota, workspace isolation, deleteUpload, and garbage collection of unreferenced objects.
import { createHash } from 'node:crypto';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLErrorBody } from './helpers/app.ts';
import { graphql } from './generated/gql.ts';
import { ofType } from './helpers/typename.ts';
import { collectGarbage, sweepStaging } from '../src/files/gc.ts';
import { objectKey } from '../src/files/store.ts';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { createTenant } from './helpers/auth.ts';
import { filesEnv, gqlUpload, putUpload } from './helpers/files.ts';
import { createWorkflow, rawId } from './helpers/runs.ts';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const definition = { steps: [{ id: 'a', type: 'condition', config: { expression: 'true' } }] };

describe('uploads (local store)', () => {
  let t: TestApp & { base: string };
  let workflowId: string;

  beforeAll(async () => {
    t = await startServedTestApp(
      filesEnv({
        LOG_LEVEL: process.env.DEBUG_LOG ?? 'silent',
        WEFT_MAX_UPLOAD_BYTES: '100000',
        WEFT_WORKSPACE_QUOTA_BYTES: '250000',
      }),
    );
    workflowId = await createWorkflow(t, definition);
  });
  afterAll(() => t?.close());

  it('stores a PUT body under its sha256 and lists it on the workflow', async () => {
    const put = await putUpload(t.base, t.authHeaders, 'hello, files', { filename: 'hello.txt', workflowId });
    expect(put.status).toBe(201);
    expect(put.body.upload).toMatchObject({
      filename: 'hello.txt',
      size: 12,
      sha256: sha('hello, files'),
      contentType: 'text/plain',
    });
    expect(existsSync(path.join(t.config.files.dir, objectKey(sha('hello, files'))))).toBe(true);

    const res = await t.gql(
      graphql(
        `query FilesUploadsNode ($id: ID!) { node(id: $id) { __typename ... on Workflow { uploads(first: 10) { totalCount edges { node { id filename size sha256 contentType kind uploader { kind id } downloadUrl createdAt } } } } } }`,
      ),
      { id: workflowId },
    );
    expect(res.errors).toBeUndefined();
    const uploads = ofType(res.data?.node, 'Workflow').uploads;
    expect(uploads.totalCount).toBe(1);
    expect(uploads.edges[0]!.node).toMatchObject({
      id: put.body.upload.id,
      filename: 'hello.txt',
      size: 12,
      kind: 'UPLOAD',
      uploader: { kind: 'apiKey' },
      downloadUrl: put.body.upload.downloadUrl,
    });
  });

  it('downloads whole, by range, and HEAD, with type and disposition', async () => {
    const put = await putUpload(t.base, t.authHeaders, '0123456789', { filename: 'digits é.csv' }, 'text/csv');
    const url = `${t.base}${put.body.upload.downloadUrl}`;
    const whole = await fetch(url, { headers: t.authHeaders });
    expect(whole.status).toBe(200);
    expect(await whole.text()).toBe('0123456789');
    expect(whole.headers.get('content-type')).toBe('text/csv');
    expect(whole.headers.get('content-disposition')).toBe(
      `attachment; filename="digits _.csv"; filename*=UTF-8''digits%20%C3%A9.csv`,
    );
    expect(whole.headers.get('accept-ranges')).toBe('bytes');

    const part = await fetch(url, { headers: { ...t.authHeaders, range: 'bytes=2-5' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 2-5/10');
    expect(await part.text()).toBe('2345');
    const suffix = await fetch(url, { headers: { ...t.authHeaders, range: 'bytes=-3' } });
    expect(await suffix.text()).toBe('789');
    const outside = await fetch(url, { headers: { ...t.authHeaders, range: 'bytes=20-30' } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe('bytes */10');
    expect(((await outside.json()) as GraphQLErrorBody).errors[0]?.extensions?.code).toBe('RANGE_NOT_SATISFIABLE');

    const head = await fetch(url, { method: 'HEAD', headers: t.authHeaders });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10');
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
  });

  it('takes a file through the GraphQL multipart request spec', async () => {
    const res = await gqlUpload(t, new File(['{"a":1}'], 'data.json', { type: 'application/json' }), { workflowId });
    expect(res.errors).toBeUndefined();
    expect(res.data?.uploadFile).toMatchObject({
      __typename: 'UploadPayload',
      upload: { filename: 'data.json', size: 7, contentType: 'application/json', sha256: sha('{"a":1}') },
    });
    const download = await fetch(`${t.base}${ofType(res.data?.uploadFile, 'UploadPayload').upload.downloadUrl}`, {
      headers: t.authHeaders,
    });
    expect(await download.text()).toBe('{"a":1}');
    const renamed = await gqlUpload(t, new File(['x'], 'ignored.bin'), { filename: '../../etc/passwd' });
    expect(ofType(renamed.data?.uploadFile, 'UploadPayload').upload.filename).toBe('passwd');
  });

  it('refuses a file over WEFT_MAX_UPLOAD_BYTES, declared or streamed, and keeps nothing', async () => {
    const before = await t.db.prisma.upload.count();
    const declared = await putUpload(t.base, t.authHeaders, Buffer.alloc(100_001), { filename: 'big.bin' });
    expect(declared.status).toBe(413);
    expect(declared.body.errors[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    // Chunked: no length declared, cut off while streaming.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(10_000));
        controller.close();
      },
    });
    const streamed = await putUpload(t.base, t.authHeaders, stream, { filename: 'big.bin' });
    expect(streamed.status).toBe(413);
    expect(await t.db.prisma.upload.count()).toBe(before);
    expect(readdirSync(path.join(t.config.files.dir, 'staging'))).toEqual([]);
  });

  it('refuses what would pass the workspace quota', async () => {
    const used = Number(
      (await t.db.prisma.upload.aggregate({ where: { workspaceId: t.workspaceId }, _sum: { size: true } }))._sum.size ??
        0n,
    );
    const first = await putUpload(t.base, t.authHeaders, Buffer.alloc(90_000, 1), { filename: 'q1.bin' });
    const second = await putUpload(t.base, t.authHeaders, Buffer.alloc(90_000, 2), { filename: 'q2.bin' });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(used + 180_000).toBeLessThanOrEqual(250_000);
    const third = await putUpload(t.base, t.authHeaders, Buffer.alloc(90_000, 3), { filename: 'q3.bin' });
    expect(third.status).toBe(413);
    expect(third.body.errors[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: 250_000 });
    const gql = await gqlUpload(t, new File([Buffer.alloc(90_000, 4)], 'q4.bin'));
    expect(gql.data?.uploadFile ?? null).toBeNull();
    expect(gql.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: 250_000 });
    for (const r of [first, second])
      await t.gql(
        graphql(`mutation FilesUploadsDeleteUpload ($id: ID!) { deleteUpload(input: { id: $id }) { __typename } }`),
        {
          id: r.body.upload.id,
        },
      );
  });

  it('keeps workspaces apart: another tenant can neither list, download nor delete', async () => {
    const put = await putUpload(t.base, t.authHeaders, 'private', { filename: 'mine.txt', workflowId });
    const other = await createTenant(t, 'files-other');
    const download = await fetch(`${t.base}${put.body.upload.downloadUrl}`, { headers: other.headers });
    expect(download.status).toBe(404);
    const listed = await t.gql(
      graphql(`query FilesUploadsUploads { uploads(first: 50) { totalCount } }`),
      {},
      other.headers,
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data?.uploads.totalCount).toBe(0);
    const node = await t.gql(
      graphql(`query FilesUploadsNode2 ($id: ID!) { node(id: $id) { id } }`),
      { id: put.body.upload.id },
      other.headers,
    );
    expect(node.data?.node).toBeNull();
    const deleted = await t.gql(
      graphql(
        `mutation FilesUploadsDeleteUpload2 ($id: ID!) { deleteUpload(input: { id: $id }) { __typename ... on Error { code } } }`,
      ),
      { id: put.body.upload.id },
      other.headers,
    );
    expect(deleted.data?.deleteUpload).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const intoTheirs = await putUpload(t.base, other.headers, 'x', { filename: 'x.txt', workflowId });
    expect(intoTheirs.status).toBe(404);
    expect(await t.db.prisma.upload.count({ where: { id: rawId(put.body.upload.id) } })).toBe(1);
  });

  it('deleteUpload removes the row; the collector removes bytes no row names, after the grace period', async () => {
    const a = await putUpload(t.base, t.authHeaders, 'shared bytes', { filename: 'a.txt' });
    const b = await putUpload(t.base, t.authHeaders, 'shared bytes', { filename: 'b.txt' });
    const key = objectKey(sha('shared bytes'));
    const file = path.join(t.config.files.dir, key);
    const del = await t.gql(
      graphql(
        `mutation FilesUploadsDeleteUpload3 ($id: ID!) { deleteUpload(input: { id: $id }) { __typename ... on DeleteUploadPayload { deletedId } } }`,
      ),
      { id: a.body.upload.id },
    );
    expect(del.errors).toBeUndefined();
    expect(del.data?.deleteUpload).toEqual({ __typename: 'DeleteUploadPayload', deletedId: a.body.upload.id });
    await collectGarbage(t.db.prisma, t.app.files.store, { graceMs: 0 });
    expect(existsSync(file)).toBe(true); // b still names the bytes
    await t.gql(
      graphql(`mutation FilesUploadsDeleteUpload4 ($id: ID!) { deleteUpload(input: { id: $id }) { __typename } }`),
      {
        id: b.body.upload.id,
      },
    );
    await collectGarbage(t.db.prisma, t.app.files.store); // young: within the grace period
    expect(existsSync(file)).toBe(true);
    const result = await collectGarbage(t.db.prisma, t.app.files.store, { graceMs: 0 });
    expect(result.deleted).toBeGreaterThanOrEqual(1);
    expect(existsSync(file)).toBe(false);
  });

  it('collects the object of an upload that crashed before its row, and the files of a deleted workflow', async () => {
    // The crash: an object written with no row (what storeFile leaves if the process dies between the two).
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const tmp = path.join(mkdtempSync(path.join(t.config.files.dir, 'crash-')), 'x');
    writeFileSync(tmp, 'orphan');
    await t.app.files.store.putFile(objectKey(sha('orphan')), tmp, 6);
    const wf = await createWorkflow(t, definition);
    const put = await putUpload(t.base, t.authHeaders, 'only this workflow', { filename: 'w.txt', workflowId: wf });
    expect(put.status).toBe(201);
    const del = await t.gql(
      graphql(`mutation FilesUploadsDeleteWorkflow ($id: ID!) { deleteWorkflow(input: { id: $id }) { __typename } }`),
      { id: wf },
    );
    expect(del.errors).toBeUndefined();
    await collectGarbage(t.db.prisma, t.app.files.store, { graceMs: 0 });
    expect(await t.app.files.store.exists(objectKey(sha('orphan')))).toBe(false);
    expect(await t.app.files.store.exists(objectKey(sha('only this workflow')))).toBe(false);
    expect(await t.app.files.store.exists(objectKey(sha('private')))).toBe(true);
  });

  it('sweeps staging files a crashed upload left behind, once they are old', async () => {
    const { writeFileSync, existsSync: exists } = await import('node:fs');
    const leftover = path.join(t.app.files.stagingDir, 'crashed.part');
    writeFileSync(leftover, 'half an upload');
    expect(await sweepStaging(t.app.files.stagingDir)).toBe(0); // young: maybe still streaming
    expect(exists(leftover)).toBe(true);
    expect(await sweepStaging(t.app.files.stagingDir, { graceMs: 0 })).toBe(1);
    expect(exists(leftover)).toBe(false);
  });
});
