// Garbage collection of objects no row names: bytes of deleted uploads, of deleted runs and
// workflows (their rows go by cascade), and objects written by an upload that crashed before
// inserting its row. Only objects older than the grace period are considered, so an upload in
// flight (its object written, its row not yet) is never collected under it.
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PrismaClient } from '../db/client.ts';
import { shaOfKey, type ObjectStore } from './store.ts';

export const GC_GRACE_MS = 15 * 60_000;
const BATCH = 500;

export interface GcResult {
  scanned: number;
  deleted: number;
}

export async function collectGarbage(
  prisma: PrismaClient,
  store: ObjectStore,
  options: { graceMs?: number; now?: Date } = {},
): Promise<GcResult> {
  const cutoff = (options.now ?? new Date()).getTime() - (options.graceMs ?? GC_GRACE_MS);
  let scanned = 0;
  let deleted = 0;
  let batch: { key: string; sha: string }[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const shas = [...new Set(batch.map((b) => b.sha))];
    const named = new Set(
      (
        await prisma.upload.findMany({
          where: { sha256: { in: shas } },
          select: { sha256: true },
          distinct: ['sha256'],
        })
      ).map((r) => r.sha256),
    );
    for (const item of batch) {
      if (named.has(item.sha)) continue;
      await store.delete(item.key);
      deleted++;
    }
    batch = [];
  };
  for await (const object of store.list()) {
    scanned++;
    const sha = shaOfKey(object.key);
    if (!sha || object.modifiedAt.getTime() > cutoff) continue;
    batch.push({ key: object.key, sha });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return { scanned, deleted };
}

/** Removes staging files (uploads in flight) left by a crash, once older than the grace period. */
export async function sweepStaging(
  stagingDir: string,
  options: { graceMs?: number; now?: Date } = {},
): Promise<number> {
  const cutoff = (options.now ?? new Date()).getTime() - (options.graceMs ?? GC_GRACE_MS);
  let removed = 0;
  for (const name of await readdir(stagingDir).catch(() => [] as string[])) {
    const file = path.join(stagingDir, name);
    const info = await stat(file).catch(() => null);
    if (!info?.isFile() || info.mtime.getTime() > cutoff) continue;
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}
