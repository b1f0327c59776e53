// A 1 GiB upload and download with bounded memory: the body streams through the hash into a
// staged file and out again, never whole in memory. Memory is measured as the peak RSS of this
// process (server and client both live here) sampled every 20 ms, against the RSS before. A full
// garbage collection every 64 MiB keeps spent chunks out of the measure.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedTestApp, type TestApp } from './helpers/app.ts';
import { filesEnv } from './helpers/files.ts';

const GIB = 1024 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/**
 * Growth of RSS allowed while 1 GiB goes through (buffers, part queues, GC slack): well under the
 * file, so a body held whole fails. On PostgreSQL this measures +59 MiB; with the embedded
 * database in the same process it has measured from +64 to +314 MiB on this machine, with periodic
 * collections or without (the cause is not established; PGlite's Wasm heap, which never shrinks,
 * is the suspect).
 */
const RSS_BUDGET = 384 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const COLLECT_EVERY = 64;

function rssSampler() {
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  return { stop: () => (clearInterval(timer), { before, peak, growth: peak - before }) };
}

describe('a 1 GiB file', () => {
  let t: TestApp & { base: string };
  beforeAll(async () => {
    t = await startServedTestApp(filesEnv({ WEFT_MAX_UPLOAD_BYTES: String(2 * GIB) }));
  });
  afterAll(async () => {
    await t?.close();
    if (t) rmSync(t.config.files.dir, { recursive: true, force: true });
  });

  it('uploads and downloads with bounded memory', { timeout: 240_000 }, async () => {
    const chunk = Buffer.alloc(CHUNK, 7);
    const expected = createHash('sha256');
    for (let i = 0; i < GIB / CHUNK; i++) expected.update(chunk);
    const sha256 = expected.digest('hex');

    collectGarbage();
    const upload = rssSampler();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${t.base}/api/uploads?filename=big.bin`,
        {
          method: 'PUT',
          headers: { ...t.authHeaders, 'content-type': 'application/octet-stream', 'content-length': GIB },
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < GIB) {
          sent += CHUNK;
          if ((sent / CHUNK) % COLLECT_EVERY === 0) collectGarbage();
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    const up = upload.stop();
    expect(answer.status).toBe(201);
    const uploaded = JSON.parse(answer.body).upload;
    expect(uploaded).toMatchObject({ size: GIB, sha256 });

    collectGarbage();
    const download = rssSampler();
    const response = await fetch(`${t.base}${uploaded.downloadUrl}`, { headers: t.authHeaders });
    expect(response.headers.get('content-length')).toBe(String(GIB));
    const hash = createHash('sha256');
    let received = 0;
    for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(part);
      const before = Math.floor(received / (COLLECT_EVERY * CHUNK));
      received += part.length;
      if (Math.floor(received / (COLLECT_EVERY * CHUNK)) > before) collectGarbage();
    }
    const down = download.stop();
    expect(received).toBe(GIB);
    expect(hash.digest('hex')).toBe(sha256);
    console.log(
      `1 GiB upload: RSS ${Math.round(up.before / 2 ** 20)} → peak ${Math.round(up.peak / 2 ** 20)} MiB (+${Math.round(up.growth / 2 ** 20)} MiB); download: +${Math.round(down.growth / 2 ** 20)} MiB`,
    );
    expect(up.growth).toBeLessThan(RSS_BUDGET);
    expect(down.growth).toBeLessThan(RSS_BUDGET);
  });
});
