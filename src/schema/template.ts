// Template type (built-in and workspace templates), queries, and the mutations that install
// a template as a workflow or save a workflow as a template.
import { resolveArrayConnection } from '@pothos/plugin-relay';
import type { Workflow } from '../generated/prisma/client.ts';
import type { TemplateData } from '../templates/builtin.ts';
import {
  createTemplateFromWorkflow,
  deleteTemplate,
  findTemplate,
  installTemplate,
  listTemplates,
} from '../templates/service.ts';
import { builder } from './builder.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';
import { isUuid, parseGlobalId } from '../ids.ts';
import { checkPageSize, checkSearch } from './pagination.ts';
import { DeleteInput, deletePayload } from './delete.ts';
import { WorkflowRef } from './workflow.ts';

export const TemplateRef = builder.objectRef<TemplateData>('Template');

builder.node(TemplateRef, {
  description: 'A reusable workflow definition: one shipped with Weft (isBuiltin) or saved by your workspace.',
  id: { resolve: (t) => t.id },
  loadOne: (id, ctx) => (isUuid(id) ? findTemplate(ctx, id) : null),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name; the default name of workflows installed from it.' }),
    description: t.exposeString('description', { description: 'What it does.' }),
    category: t.exposeString('category', { description: 'Category, e.g. "data", "monitoring".' }),
    tags: t.exposeStringList('tags', { description: 'Keywords.' }),
    isBuiltin: t.exposeBoolean('isBuiltin', { description: 'Shipped with Weft (cannot be deleted).' }),
    definition: t.field({ type: 'JSON', description: 'The workflow definition.', resolve: (t) => t.definition }),
    inputSchema: t.field({
      type: 'JSON',
      nullable: true,
      description: 'JSON Schema of the input its workflows expect.',
      resolve: (t) => (t.definition.inputSchema as unknown) ?? null,
    }),
    createdAt: t.field({
      type: 'DateTime',
      description: 'When it was created (built-ins: when shipped).',
      resolve: (t) => t.createdAt,
    }),
  }),
});

builder.queryFields((t) => ({
  templates: t.connection({
    type: TemplateRef,
    description: 'Templates available to your workspace: built-in ones first, then your own (newest first).',
    args: {
      category: t.arg.string({ description: 'Only this category.' }),
      isBuiltin: t.arg.boolean({ description: "Only built-in (true) or only your workspace's (false)." }),
      search: t.arg.string({ description: 'Case-insensitive search in name and description.' }),
    },
    resolve: async (_root, args, ctx) => {
      checkPageSize(args);
      checkSearch(args.search, ['search']);
      return resolveArrayConnection({ args }, await listTemplates(ctx, args));
    },
  }),
}));

const InstalledPayload = builder.objectRef<{ workflow: Workflow }>('InstallTemplatePayload').implement({
  description: 'The workflow created from the template.',
  fields: (t) => ({
    workflow: t.field({
      type: WorkflowRef,
      description: "The new workflow (version 1 holds the template's definition).",
      resolve: (p) => p.workflow,
    }),
  }),
});
const TemplatePayload = builder.objectRef<{ template: TemplateData }>('TemplatePayload').implement({
  description: 'The saved template.',
  fields: (t) => ({
    template: t.field({ type: TemplateRef, description: 'The template.', resolve: (p) => p.template }),
  }),
});
const DeleteTemplatePayload = deletePayload('DeleteTemplatePayload', 'The template was deleted.', 'deletedTemplateId');

const templateId = (id: string | number) => parseGlobalId(String(id), 'Template');

builder.mutationFields((t) => ({
  installTemplate: t.field({
    type: InstalledPayload,
    description: 'Creates a workflow from a template.',
    args: {
      input: t.arg({
        type: builder.inputType('InstallTemplateInput', {
          description: "The template and the new workflow's name.",
          fields: (f) => ({
            templateId: f.id({ required: true, description: 'Global ID of the template.' }),
            name: f.string({ description: "Name of the workflow (default: the template's)." }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('InstallTemplateResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        workflow: await installTemplate(ctx, { templateId: templateId(input.templateId), name: input.name }),
      })),
  }),
  createTemplateFromWorkflow: t.field({
    type: TemplatePayload,
    description: "Saves a workflow's current definition as a template of your workspace.",
    args: {
      input: t.arg({
        type: builder.inputType('CreateTemplateFromWorkflowInput', {
          description: 'The workflow and how to file the template.',
          fields: (f) => ({
            workflowId: f.id({ required: true, description: 'Global ID of the workflow.' }),
            name: f.string({ description: "Template name (default: the workflow's)." }),
            category: f.string({ required: true, description: 'Lower-case category, e.g. "data".' }),
            description: f.string({ description: "What it does (default: the workflow's description)." }),
            tags: f.stringList({ description: 'Keywords.' }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('CreateTemplateFromWorkflowResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        template: await createTemplateFromWorkflow(ctx, {
          ...input,
          workflowId: parseGlobalId(String(input.workflowId), 'Workflow'),
        }),
      })),
  }),
  deleteTemplate: t.field({
    type: DeleteTemplatePayload,
    description: "Deletes one of your workspace's templates (built-ins cannot be deleted).",
    args: { input: t.arg({ type: DeleteInput, required: true }) },
    errors: mutationErrors('DeleteTemplateResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(
        info,
        async () => (await deleteTemplate(ctx, templateId(input.id)), { deletedId: String(input.id) }),
      ),
  }),
}));
