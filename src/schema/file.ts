// Files: the Upload node (uploads and run attachments alike), Workflow.uploads, Run.attachments,
// StepRun.attachments, the workspace's uploads, and the uploadFile / deleteUpload mutations.
// Bytes are downloaded from the plain HTTP route (downloadUrl), not through GraphQL.
import { Readable } from 'node:stream';
import { deleteFile, downloadPath, storeFile } from '../files/service.ts';
import type { Upload } from '../generated/prisma/client.ts';
import { inWorkspace, parseGlobalId } from '../ids.ts';
import { builder } from './builder.ts';
import { MUTATION_ERRORS, withTypedErrors } from './errors.ts';
import { checkPageSize } from './pagination.ts';

export const FileKindEnum = builder.enumType('FileKind', {
  description: 'UPLOAD: a file a caller uploaded; ATTACHMENT: a file a step of a run produced.',
  values: ['UPLOAD', 'ATTACHMENT'] as const,
});

const UploaderRef = builder.objectRef<{ kind: string; id: string | null }>('Uploader').implement({
  description: "Who stored a file: a user, an API key, or the system (a run's step).",
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'user, apiKey or system.' }),
    id: t.exposeID('id', { nullable: true, description: "The user's or API key's id; null for the system." }),
  }),
});

export const UploadRef = builder.prismaNode('Upload', {
  nullable: true,
  description: 'A stored file: an upload, or an attachment a run produced. Its bytes are at downloadUrl.',
  id: { field: 'id' },
  findUnique: inWorkspace,
  fields: (t) => ({
    filename: t.exposeString('filename', { description: 'The file name (no path).' }),
    contentType: t.exposeString('contentType', {
      description: 'Its media type, as uploaded (application/octet-stream when unknown).',
    }),
    size: t.float({ description: 'Size in bytes.', resolve: (u) => Number(u.size) }),
    sha256: t.exposeString('sha256', { description: 'SHA-256 of the bytes, hex.' }),
    kind: t.field({ type: FileKindEnum, description: 'An upload or a run attachment.', resolve: (u) => u.kind }),
    workflowId: t.id({
      nullable: true,
      description: 'The workflow it belongs to (raw id), if any.',
      resolve: (u) => u.workflowId,
    }),
    runId: t.id({
      nullable: true,
      description: 'For an attachment: the run that produced it (raw id).',
      resolve: (u) => u.runId,
    }),
    stepId: t.exposeString('stepId', { nullable: true, description: 'For an attachment: the step that produced it.' }),
    iteration: t.exposeInt('iteration', {
      nullable: true,
      description: 'For an attachment of a loop body: the item index.',
    }),
    uploader: t.field({
      type: UploaderRef,
      description: 'Who stored it.',
      resolve: (u) => ({ kind: u.createdByKind, id: u.createdById }),
    }),
    downloadUrl: t.string({
      description:
        "Where to GET its bytes (relative to the server's origin; same credentials as the API; Range requests work).",
      resolve: (u) => downloadPath(u.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was stored.' }),
  }),
});

const newestFirst = { orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }] };

builder.prismaObjectField('Workflow', 'uploads', (t) =>
  t.relatedConnection('uploads', {
    cursor: 'id',
    description: "Files uploaded for this workflow (not its runs' attachments), newest first.",
    query: () => ({ where: { kind: 'UPLOAD' }, ...newestFirst }),
    totalCount: true,
  }),
);

builder.prismaObjectField('Run', 'attachments', (t) =>
  t.relatedConnection('uploads', {
    cursor: 'id',
    description: "Files the run's steps produced, oldest first.",
    query: () => ({ where: { kind: 'ATTACHMENT' }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    totalCount: true,
  }),
);

/** A step's attachments: a top-level step's include those of its loop iterations. */
function stepAttachments(step: { runId: string; stepId: string; iteration: number }, workspaceId: string) {
  return {
    runId: step.runId,
    stepId: step.stepId,
    kind: 'ATTACHMENT' as const,
    ...(step.iteration >= 0 ? { iteration: step.iteration } : {}),
    workspaceId,
  };
}

builder.prismaObjectField('StepRun', 'attachments', (t) =>
  t.prismaConnection({
    type: 'Upload',
    cursor: 'id',
    description: 'Files this step (this iteration, for a loop body) produced, oldest first.',
    totalCount: (step, args, ctx) => (
      checkPageSize(args), ctx.prisma.upload.count({ where: stepAttachments(step, ctx.workspaceId) })
    ),
    resolve: (query, step, args, ctx) => {
      checkPageSize(args);
      return ctx.prisma.upload.findMany({
        ...query,
        where: stepAttachments(step, ctx.workspaceId),
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      });
    },
  }),
);

builder.queryFields((t) => ({
  uploads: t.prismaConnection({
    type: 'Upload',
    cursor: 'id',
    description: 'Files of your workspace, newest first: uploads by default, attachments with kind: ATTACHMENT.',
    args: {
      kind: t.arg({ type: FileKindEnum, required: false, description: 'Which files (default UPLOAD).' }),
      workflowId: t.arg.id({ required: false, description: 'Only the files of this workflow.' }),
    },
    totalCount: (_p, args, ctx) => (
      checkPageSize(args), ctx.prisma.upload.count({ where: uploadWhere(ctx.workspaceId, args) })
    ),
    resolve: (query, _root, args, ctx) => {
      checkPageSize(args);
      return ctx.prisma.upload.findMany({ ...query, where: uploadWhere(ctx.workspaceId, args), ...newestFirst });
    },
  }),
}));

function uploadWhere(
  workspaceId: string,
  args: { kind?: 'UPLOAD' | 'ATTACHMENT' | null; workflowId?: string | number | null },
) {
  return {
    workspaceId,
    kind: args.kind ?? 'UPLOAD',
    ...(args.workflowId != null ? { workflowId: parseGlobalId(String(args.workflowId), 'Workflow') } : {}),
  };
}

const errors = (name: string) => ({ types: MUTATION_ERRORS, directResult: true, union: { name } }) as const;

const UploadPayload = builder.objectRef<{ upload: Upload }>('UploadPayload').implement({
  description: 'The stored file.',
  fields: (t) => ({ upload: t.field({ type: UploadRef, description: 'The file.', resolve: (p) => p.upload }) }),
});

builder.mutationFields((t) => ({
  uploadFile: t.field({
    type: UploadPayload,
    description:
      'Stores a file sent with the GraphQL multipart request spec (up to 32 MiB this way; PUT /api/uploads streams larger files). Same bytes are stored once.',
    args: {
      input: t.arg({
        type: builder.inputType('UploadFileInput', {
          description: 'The file, and what it belongs to.',
          fields: (f) => ({
            file: f.field({ type: 'File', required: true, description: 'The file (a multipart part).' }),
            filename: f.string({
              required: false,
              description: "The name to store it under (default: the part's file name).",
            }),
            workflowId: f.id({
              required: false,
              description: 'The workflow it is uploaded for (listed in Workflow.uploads).',
            }),
          }),
        }),
        required: true,
      }),
    },
    errors: errors('UploadFileResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => {
        const workflowId = input.workflowId != null ? parseGlobalId(String(input.workflowId), 'Workflow') : null;
        const file = input.file;
        // Already in memory (yoga parsed the multipart body, within MAX_GRAPHQL_UPLOAD_BYTES).
        const upload = await storeFile(
          ctx,
          ctx.files,
          Readable.from([Buffer.from(await file.arrayBuffer())]),
          { filename: input.filename ?? file.name, contentType: file.type, workflowId },
          { declaredSize: file.size },
        );
        return { upload };
      }),
  }),
  deleteUpload: t.field({
    type: builder.objectRef<{ deletedId: string }>('DeleteUploadPayload').implement({
      description: 'The file was deleted.',
      fields: (f) => ({ deletedId: f.exposeID('deletedId', { description: 'Its global ID.' }) }),
    }),
    description:
      'Deletes a file (an upload or an attachment). Its bytes are removed by the garbage collector once no other file has the same content.',
    args: {
      input: t.arg({
        type: builder.inputType('DeleteUploadInput', {
          description: 'The file to delete.',
          fields: (f) => ({ id: f.id({ required: true, description: 'Its global ID.' }) }),
        }),
        required: true,
      }),
    },
    errors: errors('DeleteUploadResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => {
        const id = String(input.id);
        await deleteFile(ctx, parseGlobalId(id, 'Upload'));
        return { deletedId: id };
      }),
  }),
}));
