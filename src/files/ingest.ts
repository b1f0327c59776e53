// Receiving bytes: a stream is written to a temporary file in the store's staging directory
// while its sha256 and size are computed, and cut off as soon as it passes the size limit. So
// memory stays bounded whatever the size, and the object store only ever gets finished,
// hashed files (its key is the hash, known only at the end).
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WeftError } from '../errors.ts';

export interface Staged {
  path: string;
  sha256: string;
  size: number;
  discard(): Promise<void>;
}

export class TooLargeError extends WeftError {
  constructor(limit: number) {
    super('PAYLOAD_TOO_LARGE', `The file is larger than the limit of ${limit} bytes (WEFT_MAX_UPLOAD_BYTES)`, {
      limit,
    });
    this.name = 'TooLargeError';
  }
}

/** Streams `source` into a staged temporary file; throws TooLargeError past `maxBytes`. */
export async function stage(
  source: Readable | AsyncIterable<Uint8Array>,
  stagingDir: string,
  maxBytes: number,
): Promise<Staged> {
  await mkdir(stagingDir, { recursive: true });
  const file = path.join(stagingDir, `${randomUUID()}.part`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new TooLargeError(maxBytes));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  return { path: file, sha256: hash.digest('hex'), size, discard: () => rm(file, { force: true }) };
}
