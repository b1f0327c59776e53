// A real S3-protocol server on loopback (s3rver), with one bucket, for the S3 object store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export async function startS3(bucket = 'weft-files') {
  const directory = mkdtempSync(path.join(tmpdir(), 'weft-s3rver-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    env: {
      WEFT_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      WEFT_S3_BUCKET: bucket,
      WEFT_S3_ACCESS_KEY_ID: 'S3RVER',
      WEFT_S3_SECRET_ACCESS_KEY: 'S3RVER',
      WEFT_S3_PREFIX: 'weft/',
    },
    directory,
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
