// The S3 object store against a real S3-protocol server on loopback (s3rver): uploads (one part
// and multipart), downloads with Range, isolation of the key prefix, and garbage collection.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/gql.ts';
import { collectGarbage } from '../src/files/gc.ts';
import { objectKey } from '../src/files/store.ts';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { filesEnv, putUpload } from './helpers/files.ts';
import { startS3 } from './helpers/s3.ts';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe('uploads (S3 store, s3rver on loopback)', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let t: TestApp & { base: string };

  beforeAll(async () => {
    s3 = await startS3();
    t = await startServedTestApp(filesEnv(s3.env));
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  it('uses the S3 store when WEFT_S3_BUCKET is set', () => {
    expect(t.app.files.store.kind).toBe('s3');
  });

  it('stores, lists and downloads (whole and by range) through S3', async () => {
    const put = await putUpload(t.base, t.authHeaders, 'bytes in a bucket', { filename: 'bucket.txt' });
    expect(put.status).toBe(201);
    expect(await t.app.files.store.exists(objectKey(sha('bytes in a bucket')))).toBe(true);
    const url = `${t.base}${put.body.upload.downloadUrl}`;
    const whole = await fetch(url, { headers: t.authHeaders });
    expect(await whole.text()).toBe('bytes in a bucket');
    const part = await fetch(url, { headers: { ...t.authHeaders, range: 'bytes=6-7' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('in');
    const listed = await t.gql(
      graphql(`query FilesS3Uploads { uploads(first: 10) { totalCount edges { node { filename sha256 } } } }`),
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data?.uploads.edges.map((e) => e.node.filename)).toContain('bucket.txt');
  });

  it('sends a file larger than one part as a multipart upload', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const put = await putUpload(t.base, t.authHeaders, data, { filename: 'twenty.bin' }, 'application/octet-stream');
    expect(put.status).toBe(201);
    expect(put.body.upload).toMatchObject({ size: data.length, sha256: sha(data) });
    const back = Buffer.from(
      await (await fetch(`${t.base}${put.body.upload.downloadUrl}`, { headers: t.authHeaders })).arrayBuffer(),
    );
    expect(sha(back)).toBe(sha(data));
  });

  it('collects objects no row names (a crashed upload, a deleted file) and keeps the rest', async () => {
    const keep = await putUpload(t.base, t.authHeaders, 'keep me', { filename: 'keep.txt' });
    const drop = await putUpload(t.base, t.authHeaders, 'drop me', { filename: 'drop.txt' });
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const tmp = path.join(mkdtempSync(path.join(tmpdir(), 'orphan-')), 'o');
    writeFileSync(tmp, 'orphan in s3');
    await t.app.files.store.putFile(objectKey(sha('orphan in s3')), tmp, 12);
    const del = await t.gql(
      graphql(`mutation FilesS3DeleteUpload ($id: ID!) { deleteUpload(input: { id: $id }) { __typename } }`),
      {
        id: drop.body.upload.id,
      },
    );
    expect(del.data?.deleteUpload.__typename).toBe('DeleteUploadPayload');
    const result = await collectGarbage(t.db.prisma, t.app.files.store, { graceMs: 0 });
    expect(result.deleted).toBe(2);
    expect(await t.app.files.store.exists(objectKey(sha('orphan in s3')))).toBe(false);
    expect(await t.app.files.store.exists(objectKey(sha('drop me')))).toBe(false);
    expect(await t.app.files.store.exists(objectKey(sha('keep me')))).toBe(true);
    expect((await fetch(`${t.base}${keep.body.upload.downloadUrl}`, { headers: t.authHeaders })).status).toBe(200);
  });
});
