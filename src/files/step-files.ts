// The bridge between step handlers and file storage: a handler opens input files of the run's
// workspace and stores attachments of its step without knowing the database. An attachment is
// its Upload row and an ATTACHMENT_CREATED run event, committed together, then published.
import type { Readable } from 'node:stream';
import type { PrismaClient } from '../db/client.ts';
import { NonRetriableError, type StepFiles } from '../engine/steps/types.ts';
import { appendEvents, type EventBus, type StoredEvent } from '../events/log.ts';
import { idFromPathSegment, inWorkspace } from '../ids.ts';
import { SYSTEM_ACTOR } from '../scope.ts';
import { fileInfo, openFile, storeFile, type FileStorage } from './service.ts';

export function stepFiles(
  deps: { prisma: PrismaClient; bus: EventBus; files: FileStorage },
  run: { runId: string; workspaceId: string; stepId: string },
  iteration: number | null = null,
): StepFiles {
  const scope = { prisma: deps.prisma, workspaceId: run.workspaceId, actor: SYSTEM_ACTOR };
  return {
    async open(ref, path) {
      const id = typeof ref === 'string' ? idFromPathSegment(ref, 'Upload') : null;
      const row = id ? await deps.prisma.upload.findFirst({ where: inWorkspace(id, scope) }) : null;
      if (!row)
        throw new NonRetriableError(`${path}: no file ${JSON.stringify(ref)} in this workspace (give an upload's id)`);
      return { ...fileInfo(row), read: () => openFile(deps.files, row) };
    },
    async attach(source: Readable, meta) {
      let events: StoredEvent[] = [];
      const row = await storeFile(
        scope,
        deps.files,
        source,
        { ...meta, kind: 'ATTACHMENT', runId: run.runId, workflowId: null, stepId: run.stepId, iteration },
        {
          alongside: async (tx, created) => {
            events = await appendEvents(tx, { id: run.runId, workspaceId: run.workspaceId }, [
              { type: 'ATTACHMENT_CREATED', stepId: run.stepId, iteration, data: { attachment: fileInfo(created) } },
            ]);
          },
        },
      );
      deps.bus.publish(events);
      return fileInfo(row);
    },
    forIteration(index) {
      return stepFiles(deps, run, index);
    },
  };
}
