// weft apply -f <file or folder>: make the server's workflows match files, idempotently.
//
// Each YAML or JSON file (a folder: every *.yaml, *.yml, *.json in it, by name; a YAML file may
// hold several documents separated by ---) describes a workflow: `name`, `definition`, and
// optionally `description` and `tags`. A workflow is matched by its exact name:
// - none: it is created (version 1);
// - the definition differs (compared as JSON values, key order ignored): updateWorkflow makes
//   a new version; every setting the file does not mention (tags, webhooks, limits, checks…)
//   is sent back as it is, because updateWorkflow replaces the whole workflow;
// - only the description or tags differ: patchWorkflow changes them without a new version;
// - nothing differs: nothing is sent. Applying the same files twice changes nothing.
// `description` and `tags` absent from a file are left as they are on the server.
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import pc from 'picocolors';
import { parseAllDocuments } from 'yaml';
import { WeftError, type WeftClient } from '@weft/client';
import { connect, findWorkflowByName } from '../context.ts';
import {
  CreateWorkflowDocument,
  PatchWorkflowDocument,
  UpdateWorkflowDocument,
  WorkflowDocument,
} from '../operations.ts';
import { printJson } from '../output.ts';

export interface WorkflowSpec {
  file: string;
  name: string;
  definition: Record<string, unknown>;
  description?: string | null;
  tags?: string[];
}

export interface ApplyResult {
  file: string;
  name: string;
  action: 'create' | 'update' | 'unchanged';
  id: string | null;
  fromVersion: number | null;
  toVersion: number | null;
  /** What differs: "definition: …", "description", "tags". */
  changes: string[];
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export function specFiles(target: string): string[] {
  let stats: Stats;
  try {
    stats = statSync(target);
  } catch {
    throw new WeftError('BAD_USER_INPUT', `-f ${target}: no such file or folder`);
  }
  if (!stats.isDirectory()) return [target];
  const files = readdirSync(target)
    .filter((entry) => EXTENSIONS.has(path.extname(entry).toLowerCase()))
    .sort()
    .map((entry) => path.join(target, entry));
  if (!files.length) throw new WeftError('BAD_USER_INPUT', `-f ${target}: the folder has no .yaml, .yml or .json file`);
  return files;
}

export function readSpecs(file: string): WorkflowSpec[] {
  const text = readFileSync(file, 'utf8');
  let values: unknown[];
  if (path.extname(file).toLowerCase() === '.json') {
    try {
      values = [JSON.parse(text)];
    } catch (error) {
      throw new WeftError('BAD_USER_INPUT', `${file}: not valid JSON: ${(error as Error).message}`);
    }
  } else {
    const documents = parseAllDocuments(text);
    const list = Array.isArray(documents) ? documents : [documents];
    const broken = list.find((doc) => doc.errors.length);
    if (broken) throw new WeftError('BAD_USER_INPUT', `${file}: not valid YAML: ${broken.errors[0]!.message}`);
    values = list.map((doc) => doc.toJS()).filter((value) => value != null);
  }
  return values.map((value, index) => checkSpec(value, values.length > 1 ? `${file} (document ${index + 1})` : file));
}

function checkSpec(value: unknown, where: string): WorkflowSpec {
  const fail = (message: string) => new WeftError('BAD_USER_INPUT', `${where}: ${message}`);
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw fail('expected an object with name and definition');
  const spec = value as Record<string, unknown>;
  const unknown = Object.keys(spec).filter((key) => !['name', 'definition', 'description', 'tags'].includes(key));
  if (unknown.length)
    throw fail(
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (allowed: name, definition, description, tags)`,
    );
  if (typeof spec.name !== 'string' || !spec.name.trim()) throw fail('`name` must be a non-empty string');
  if (!spec.definition || typeof spec.definition !== 'object' || Array.isArray(spec.definition))
    throw fail('`definition` must be an object ({ steps: [...] }, see docs/definition.md)');
  if (spec.description !== undefined && spec.description !== null && typeof spec.description !== 'string')
    throw fail('`description` must be a string');
  if (spec.tags !== undefined && (!Array.isArray(spec.tags) || spec.tags.some((tag) => typeof tag !== 'string')))
    throw fail('`tags` must be a list of strings');
  return {
    file: where,
    name: spec.name.trim(),
    definition: spec.definition as Record<string, unknown>,
    ...(spec.description !== undefined ? { description: spec.description as string | null } : {}),
    ...(spec.tags !== undefined ? { tags: spec.tags as string[] } : {}),
  };
}

/** Which steps (by id) and top-level fields differ between two definitions. */
export function describeDefinitionChange(before: unknown, after: Record<string, unknown>): string {
  const stepsOf = (definition: unknown) =>
    new Map(((definition as { steps?: { id?: string }[] })?.steps ?? []).map((step) => [String(step.id), step]));
  const old = stepsOf(before);
  const next = stepsOf(after);
  const added = [...next.keys()].filter((id) => !old.has(id));
  const removed = [...old.keys()].filter((id) => !next.has(id));
  const modified = [...next.keys()].filter((id) => old.has(id) && !isDeepStrictEqual(old.get(id), next.get(id)));
  const keys = new Set(
    [...Object.keys((before as object) ?? {}), ...Object.keys(after)].filter((key) => key !== 'steps'),
  );
  const fields = [...keys].filter((key) => !isDeepStrictEqual((before as Record<string, unknown>)?.[key], after[key]));
  const parts = [
    added.length && `added ${added.join(', ')}`,
    removed.length && `removed ${removed.join(', ')}`,
    modified.length && `modified ${modified.join(', ')}`,
    fields.length && `changed ${fields.join(', ')}`,
  ];
  const order = !added.length && !removed.length && !modified.length && !fields.length ? ['steps reordered'] : [];
  return [...parts.filter(Boolean), ...order].join('; ');
}

export async function applySpec(client: WeftClient, spec: WorkflowSpec, dryRun: boolean): Promise<ApplyResult> {
  const base = { file: spec.file, name: spec.name };
  const existing = await findWorkflowByName(client, spec.name);
  if (!existing) {
    if (dryRun)
      return { ...base, action: 'create', id: null, fromVersion: null, toVersion: 1, changes: ['new workflow'] };
    const { createWorkflow } = await client.request(CreateWorkflowDocument, {
      input: {
        name: spec.name,
        definition: spec.definition,
        ...(spec.description != null ? { description: spec.description } : {}),
        ...(spec.tags ? { tags: spec.tags } : {}),
      },
    });
    return {
      ...base,
      action: 'create',
      id: createWorkflow.workflow.id,
      fromVersion: null,
      toVersion: createWorkflow.workflow.latestVersion,
      changes: ['new workflow'],
    };
  }

  const { workflow: current } = await client.request(WorkflowDocument, { id: existing.id });
  if (!current) throw new WeftError('NOT_FOUND', `Workflow "${spec.name}" disappeared while applying`);
  const currentTags = current.tags.map((tag) => tag.name);
  const definitionChanged = !isDeepStrictEqual(current.definition, spec.definition);
  const descriptionChanged =
    spec.description !== undefined && (spec.description ?? null) !== (current.description ?? null);
  const tagsChanged = spec.tags !== undefined && !isDeepStrictEqual([...spec.tags].sort(), [...currentTags].sort());
  const changes = [
    definitionChanged && `definition: ${describeDefinitionChange(current.definition, spec.definition)}`,
    descriptionChanged && 'description',
    tagsChanged && 'tags',
  ].filter((c): c is string => !!c);
  const unchanged = { ...base, id: current.id, fromVersion: current.latestVersion };
  if (!changes.length) return { ...unchanged, action: 'unchanged', toVersion: current.latestVersion, changes };
  if (dryRun)
    return {
      ...unchanged,
      action: 'update',
      toVersion: definitionChanged ? current.latestVersion + 1 : current.latestVersion,
      changes,
    };

  if (definitionChanged) {
    // updateWorkflow replaces the whole workflow: send every setting back as it is.
    const { updateWorkflow } = await client.request(UpdateWorkflowDocument, {
      input: {
        id: current.id,
        name: spec.name,
        definition: spec.definition,
        description: spec.description !== undefined ? spec.description : current.description,
        tags: spec.tags ?? currentTags,
        changeSummary: `weft apply ${path.basename(spec.file)}`,
        webhookUrl: current.webhookUrl,
        webhooksEnabled: current.webhooksEnabled,
        commandAllowlist: current.commandAllowlist,
        maxConcurrentRuns: current.maxConcurrentRuns,
        metadata: current.metadata,
        concurrency: current.concurrency
          ? {
              key: current.concurrency.key,
              limit: current.concurrency.limit,
              strategy: current.concurrency.strategy as never,
            }
          : null,
        postRunChecks: current.postRunChecks.map(({ name, expression }) => ({ name, expression })),
      },
    });
    return { ...unchanged, action: 'update', toVersion: updateWorkflow.workflow.latestVersion, changes };
  }
  const { patchWorkflow } = await client.request(PatchWorkflowDocument, {
    input: {
      id: current.id,
      ...(descriptionChanged ? { description: spec.description ?? null } : {}),
      ...(tagsChanged ? { tags: spec.tags! } : {}),
    },
  });
  return { ...unchanged, action: 'update', toVersion: patchWorkflow.workflow.latestVersion, changes };
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description(
      'Create or update workflows from YAML/JSON files (name, definition, description?, tags?); a new version only when the definition changed',
    )
    .requiredOption('-f, --file <path>', 'a workflow file, or a folder of them (*.yaml, *.yml, *.json)')
    .option('--dry-run', 'print what would change, change nothing')
    .action(async (options: { file: string; dryRun?: boolean }, command: Command) => {
      const json = !!command.optsWithGlobals().json;
      // Read and check every file before changing anything: a typo in the last file must not
      // leave the first ones applied.
      const specs = specFiles(options.file).flatMap(readSpecs);
      const seen = new Map<string, string>();
      for (const spec of specs) {
        if (seen.has(spec.name))
          throw new WeftError(
            'BAD_USER_INPUT',
            `Workflow "${spec.name}" is defined twice: in ${seen.get(spec.name)} and ${spec.file}`,
          );
        seen.set(spec.name, spec.file);
      }
      const client = connect();
      const results: ApplyResult[] = [];
      for (const spec of specs) {
        try {
          results.push(await applySpec(client, spec, !!options.dryRun));
        } catch (error) {
          if (error instanceof WeftError)
            throw new WeftError(error.code, `${spec.file} (${spec.name}): ${error.message}`, {
              ...(error.problems ? { problems: error.problems } : {}),
              cause: error,
            });
          throw error;
        }
      }
      if (json) return printJson(options.dryRun ? { dryRun: true, results } : results);
      for (const result of results) process.stdout.write(`${describeResult(result, !!options.dryRun)}\n`);
      const counts = (action: ApplyResult['action']) => results.filter((r) => r.action === action).length;
      process.stdout.write(
        `${pc.dim(`${options.dryRun ? 'Dry run: would create' : 'Created'} ${counts('create')}, ${options.dryRun ? 'update' : 'updated'} ${counts('update')}, unchanged ${counts('unchanged')}.`)}\n`,
      );
    });
}

function describeResult(result: ApplyResult, dryRun: boolean): string {
  const verb = {
    create: dryRun ? 'would create' : 'created',
    update: dryRun ? 'would update' : 'updated',
    unchanged: 'unchanged',
  }[result.action];
  const color = result.action === 'create' ? pc.green : result.action === 'update' ? pc.yellow : pc.dim;
  const version =
    result.action === 'create'
      ? `version ${result.toVersion}`
      : result.fromVersion === result.toVersion
        ? `version ${result.toVersion}`
        : `version ${result.fromVersion} → ${result.toVersion}`;
  const changes = result.action === 'update' ? ` (${result.changes.join('; ')})` : '';
  return `${color(verb.padEnd(12))} ${result.name}  ${version}${changes}`;
}
