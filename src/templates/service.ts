// Templates: the built-in ones (in code) and a workspace's own (Template rows).
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { ServiceScope } from '../scope.ts';
import { checkDescription, checkName, createWorkflow } from '../workflows/service.ts';
import { BUILTIN_TEMPLATES, type TemplateData } from './builtin.ts';
import { inWorkspace } from '../ids.ts';

const CATEGORY = /^[a-z0-9][a-z0-9-]{0,49}$/;

function fromRow(row: {
  id: string;
  name: string;
  description: string | null;
  category: string;
  tags: string[];
  definition: unknown;
  createdAt: Date;
}): TemplateData {
  return {
    id: row.id,
    name: row.name,
    description: row.description ?? '',
    category: row.category,
    tags: row.tags,
    definition: row.definition as Record<string, unknown>,
    isBuiltin: false,
    createdAt: row.createdAt,
  };
}

export async function listTemplates(
  scope: ServiceScope,
  filter: { category?: string | null; isBuiltin?: boolean | null; search?: string | null },
) {
  const rows =
    filter.isBuiltin === true
      ? []
      : await scope.prisma.template.findMany({
          where: { workspaceId: scope.workspaceId, ...(filter.category ? { category: filter.category } : {}) },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
  const builtins =
    filter.isBuiltin === false
      ? []
      : BUILTIN_TEMPLATES.filter((t) => !filter.category || t.category === filter.category);
  const search = filter.search?.trim().toLowerCase();
  return [...builtins, ...rows.map(fromRow)].filter(
    (t) => !search || t.name.toLowerCase().includes(search) || t.description.toLowerCase().includes(search),
  );
}

export async function findTemplate(scope: ServiceScope, id: string): Promise<TemplateData | null> {
  const builtin = BUILTIN_TEMPLATES.find((t) => t.id === id);
  if (builtin) return builtin;
  const row = await scope.prisma.template.findFirst({ where: inWorkspace(id, scope) });
  return row ? fromRow(row) : null;
}

export async function installTemplate(scope: ServiceScope, input: { templateId: string; name?: string | null }) {
  const template = await findTemplate(scope, input.templateId);
  if (!template) throw new NotFoundError('Template', input.templateId);
  return createWorkflow(scope, {
    name: input.name ?? template.name,
    description: template.description,
    definition: template.definition,
  });
}

export async function createTemplateFromWorkflow(
  scope: ServiceScope,
  input: {
    workflowId: string;
    name?: string | null;
    category: string;
    description?: string | null;
    tags?: string[] | null;
  },
) {
  const workflow = await scope.prisma.workflow.findFirst({ where: inWorkspace(input.workflowId, scope) });
  if (!workflow) throw new NotFoundError('Workflow', input.workflowId);
  const name = input.name ?? workflow.name;
  const problems = [
    ...checkName(name, ['input', 'name']),
    ...checkDescription(input.description, ['input', 'description']),
  ];
  if (!CATEGORY.test(input.category))
    problems.push({
      path: ['input', 'category'],
      message: 'must be lower-case letters, digits and dashes (e.g. "data")',
    });
  if (problems.length) throw new ValidationError(problems);
  const version = await scope.prisma.workflowVersion.findUniqueOrThrow({
    where: { workflowId_number: { workflowId: workflow.id, number: workflow.latestVersion } },
  });
  const row = await scope.prisma.template.create({
    data: {
      workspaceId: scope.workspaceId,
      name: name.trim(),
      description: input.description ?? workflow.description,
      category: input.category,
      tags: input.tags ?? [],
      definition: version.definition as Prisma.InputJsonValue,
      sourceWorkflowId: workflow.id,
    },
  });
  return fromRow(row);
}

export async function deleteTemplate(scope: ServiceScope, id: string) {
  if (BUILTIN_TEMPLATES.some((t) => t.id === id))
    throw ValidationError.single(['input', 'id'], 'built-in templates cannot be deleted');
  const { count } = await scope.prisma.template.deleteMany({ where: inWorkspace(id, scope) });
  if (count === 0) throw new NotFoundError('Template', id);
}
