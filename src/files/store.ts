// The object store files live in: one small interface, two implementations (local-store.ts,
// s3-store.ts). Objects are content-addressed: the key is derived from the bytes' sha256, so two
// uploads of the same bytes share one object and a write is idempotent. Metadata (name, type,
// owner, workspace) lives in Upload rows; an object with no row is an orphan that gc.ts removes.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  /** When the object was written: the garbage collector leaves young objects alone. */
  modifiedAt: Date;
}

export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** Stores the file at `sourcePath` (a finished, hashed temporary file) under `key`. */
  putFile(key: string, sourcePath: string, size: number): Promise<void>;
  /** The object's bytes, whole or an inclusive byte range. */
  get(key: string, range?: { start: number; end: number }): Promise<Readable>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Every object (for the garbage collector), in pages. */
  list(): AsyncIterable<ObjectInfo>;
}

/** The object key of some bytes: sha256/ab/cdef… (two-level fan-out keeps directories small). */
export function objectKey(sha256: string): string {
  return `sha256/${sha256.slice(0, 2)}/${sha256}`;
}

/** The sha256 an object key names, or null for anything else found in the store. */
export function shaOfKey(key: string): string | null {
  const match = /^sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key);
  return match ? match[1]! : null;
}
