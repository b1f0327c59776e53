// Builds the file storage from the configuration: the local directory by default, an
// S3-compatible bucket when WEFT_S3_BUCKET is set; and the periodic garbage collection.
import path from 'node:path';
import type { FilesConfig } from '../config.ts';
import type { PrismaClient } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { collectGarbage, sweepStaging } from './gc.ts';
import { LocalObjectStore } from './local-store.ts';
import { S3ObjectStore } from './s3-store.ts';
import type { FileStorage } from './service.ts';

export interface FileStorageHandle extends FileStorage {
  /** Starts the periodic garbage collection (when an interval is configured). */
  start(prisma: PrismaClient, log: Logger): void;
  close(): Promise<void>;
}

export function createFileStorage(config: FilesConfig): FileStorageHandle {
  const store = config.s3 ? new S3ObjectStore(config.s3) : new LocalObjectStore(config.dir);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  // Beside the local objects (same file system: a finished upload is a rename away).
  const stagingDir = path.join(config.dir, 'staging');
  return {
    store,
    stagingDir,
    maxUploadBytes: config.maxUploadBytes,
    workspaceQuotaBytes: config.workspaceQuotaBytes,
    start(prisma, log) {
      if (config.gcIntervalMs <= 0 || timer) return;
      const sweep = () => {
        if (running) return;
        running = sweepStaging(stagingDir)
          .then(() => collectGarbage(prisma, store))
          .then((result) => result.deleted && log.info(result, 'collected unreferenced files'))
          .catch((error) =>
            log.warn({ err: error }, 'file garbage collection failed; it runs again at the next interval'),
          )
          .finally(() => (running = undefined));
      };
      timer = setInterval(sweep, config.gcIntervalMs);
      timer.unref();
    },
    async close() {
      clearInterval(timer);
      await running;
      if (store instanceof S3ObjectStore) store.close();
    },
  };
}
