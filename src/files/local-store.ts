// The default object store: a directory inside Weft's own home (WEFT_HOME/files), nothing to
// configure. Writes are a rename of the finished temporary file, so a reader never sees half an
// object; the temporary directory is on the same file system for that reason.
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ObjectInfo, ObjectStore } from './store.ts';

export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local';
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private pathOf(key: string): string {
    const full = path.resolve(this.root, key);
    if (!full.startsWith(this.root + path.sep))
      throw new Error(`object key ${JSON.stringify(key)} is outside the store`);
    return full;
  }

  async putFile(key: string, sourcePath: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await rename(sourcePath, target);
    } catch (error) {
      // Another file system (a temporary directory elsewhere): copy to a sibling, then rename.
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      const partial = `${target}.${process.pid}.partial`;
      await copyFile(sourcePath, partial);
      await rename(partial, target);
      await unlink(sourcePath);
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const file = this.pathOf(key);
    await stat(file);
    return createReadStream(file, range ? { start: range.start, end: range.end } : {});
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async *list(): AsyncIterable<ObjectInfo> {
    const base = path.join(this.root, 'sha256');
    let fanout: string[];
    try {
      fanout = await readdir(base);
    } catch {
      return;
    }
    for (const dir of fanout) {
      for (const name of await readdir(path.join(base, dir)).catch(() => [] as string[])) {
        const info = await stat(path.join(base, dir, name)).catch(() => null);
        if (info?.isFile()) yield { key: `sha256/${dir}/${name}`, size: info.size, modifiedAt: info.mtime };
      }
    }
  }
}
