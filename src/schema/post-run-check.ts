// Post-run checks in the schema: the input a workflow's checks are saved with (reconciled by id,
// src/checks/definition.ts) and the stored check, with the seed's fields in camelCase.
import { storedChecks, type StoredCheck } from '../checks/definition.ts';
import { builder } from './builder.ts';

export const PostRunCheckTypeEnum = builder.enumType('PostRunCheckType', {
  description:
    'EXPRESSION: a JSONata expression over the run; RUN_ATTACHMENT_EXISTS: the run produced the named files; CHECK_PROMPT: a model judges the run against a prompt.',
  values: {
    EXPRESSION: { value: 'expression' },
    RUN_ATTACHMENT_EXISTS: { value: 'run_attachment_exists' },
    CHECK_PROMPT: { value: 'check_prompt' },
  } as const,
});

export const FileTargetModeEnum = builder.enumType('FileTargetMode', {
  description:
    'How a RUN_ATTACHMENT_EXISTS check names files: EXACT (fileNames), REGEX (fileNameRegex), LOOP (loopItemFilenameTemplate for each item of loopInput).',
  values: { EXACT: { value: 'exact' }, REGEX: { value: 'regex' }, LOOP: { value: 'loop' } } as const,
});

export const PostRunCheckInput = builder.inputType('PostRunCheckInput', {
  description:
    "A check evaluated over every finished run. The list replaces the workflow's checks: a check with the id of an existing one updates it, one without an id is added, checks not listed are removed; order is list order.",
  fields: (t) => ({
    id: t.id({ description: 'The id of an existing check to update; omitted: a new check.' }),
    name: t.string({ required: true, description: 'Name of the check (1–200 characters).' }),
    type: t.field({ type: PostRunCheckTypeEnum, description: 'The kind of check (default EXPRESSION).' }),
    description: t.string({ description: 'What the check is for.' }),
    expression: t.string({
      description: 'EXPRESSION: JSONata over { input, output, steps, run }; truthy means passed.',
    }),
    fileTargetMode: t.field({
      type: FileTargetModeEnum,
      description: 'RUN_ATTACHMENT_EXISTS: how files are named (default EXACT).',
    }),
    fileNames: t.stringList({ description: 'EXACT: the attachment file names that must exist.' }),
    fileNameRegex: t.string({ description: 'REGEX: a regular expression attachment file names are matched with.' }),
    expectedMatchCount: t.int({
      description: 'How many attachments must match (default: every named file / at least one match).',
    }),
    expectedMatchCountRef: t.string({ description: 'The expected count from the run: input.<path> or output.<path>.' }),
    loopInput: t.string({ description: 'LOOP: the list whose items each need a file: input.<path> or output.<path>.' }),
    loopItemFilenameTemplate: t.string({
      description:
        'LOOP: the file name of each item, e.g. "report-{{ item }}.pdf" ({{ item }}, {{ index }}, input, output).',
    }),
    checkPrompt: t.string({ description: 'CHECK_PROMPT: what the model judges the run against.' }),
    model: t.string({
      description: "CHECK_PROMPT: a named agent (id or name) or a model name; default: the server's WEFT_AGENT_MODEL.",
    }),
  }),
});

export const PostRunCheckRef = builder.objectRef<StoredCheck>('PostRunCheck').implement({
  description: 'A check evaluated over each finished run; results are on Run.checks and in a RUN_CHECKS event.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable id (send it back to update the check).' }),
    name: t.exposeString('name', { description: 'Name of the check.' }),
    type: t.field({ type: PostRunCheckTypeEnum, description: 'The kind of check.', resolve: (c) => c.type }),
    order: t.exposeInt('order', { description: 'Position in the list (0 first): checks run in this order.' }),
    description: t.string({
      nullable: true,
      description: 'What the check is for.',
      resolve: (c) => c.description ?? null,
    }),
    expression: t.string({
      nullable: true,
      description: 'EXPRESSION: the JSONata expression; truthy means passed.',
      resolve: (c) => c.expression ?? null,
    }),
    fileTargetMode: t.field({
      type: FileTargetModeEnum,
      nullable: true,
      description: 'RUN_ATTACHMENT_EXISTS: how files are named.',
      resolve: (c) => (c.type === 'run_attachment_exists' ? (c.fileTargetMode ?? 'exact') : null),
    }),
    fileNames: t.stringList({
      nullable: true,
      description: 'EXACT: the file names.',
      resolve: (c) => c.fileNames ?? null,
    }),
    fileNameRegex: t.string({
      nullable: true,
      description: 'REGEX: the regular expression.',
      resolve: (c) => c.fileNameRegex ?? null,
    }),
    expectedMatchCount: t.int({
      nullable: true,
      description: 'How many attachments must match.',
      resolve: (c) => c.expectedMatchCount ?? null,
    }),
    expectedMatchCountRef: t.string({
      nullable: true,
      description: 'Where the expected count comes from.',
      resolve: (c) => c.expectedMatchCountRef ?? null,
    }),
    loopInput: t.string({
      nullable: true,
      description: 'LOOP: the list of items.',
      resolve: (c) => c.loopInput ?? null,
    }),
    loopItemFilenameTemplate: t.string({
      nullable: true,
      description: 'LOOP: the file name template of each item.',
      resolve: (c) => c.loopItemFilenameTemplate ?? null,
    }),
    checkPrompt: t.string({
      nullable: true,
      description: 'CHECK_PROMPT: the prompt.',
      resolve: (c) => c.checkPrompt ?? null,
    }),
    model: t.string({
      nullable: true,
      description: 'CHECK_PROMPT: the agent or model that judges.',
      resolve: (c) => c.model ?? null,
    }),
    createdAt: t.string({ description: 'When the check was added (ISO 8601).', resolve: (c) => c.createdAt }),
    updatedAt: t.string({ description: 'When it was last saved (ISO 8601).', resolve: (c) => c.updatedAt }),
  }),
});

export const postRunChecksOf = (value: unknown) => storedChecks(value);
