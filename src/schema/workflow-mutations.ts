// Mutations on workflows, their versions and release labels.
import type { Workflow } from '../generated/prisma/client.ts';
import { resolveWorkflowId } from '../workflows/lookup.ts';
import { CONCURRENCY_STRATEGIES } from '../workflows/settings.ts';
import {
  createWorkflow,
  deleteWorkflow,
  duplicateWorkflow,
  patchWorkflow,
  removeReleaseLabel,
  rollbackWorkflow,
  setReleaseLabel,
  setWorkflowStatus,
  updateWorkflow,
  type CreateWorkflowInput as CreateInput,
  type PatchWorkflowInput,
  type UpdateWorkflowInput as UpdateInput,
} from '../workflows/service.ts';
import { builder } from './builder.ts';
import { deletePayload } from './delete.ts';
import { PostRunCheckInput } from './post-run-check.ts';
import { TriggerTypeEnum, WorkflowStatusEnum } from './enums.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';
import { parseGlobalId } from '../ids.ts';
import { WorkflowRef } from './workflow.ts';

const ConcurrencyStrategyEnum = builder.enumType('ConcurrencyStrategy', {
  description: 'What happens when a run arrives while `limit` runs with the same concurrency key are active.',
  values: CONCURRENCY_STRATEGIES,
});

const ConcurrencyInput = builder.inputType('ConcurrencyInput', {
  description: 'Per-key concurrency limit.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Expression over the run input, e.g. "input.customerId".' }),
    limit: t.int({ required: true, description: 'Most active runs per key value (≥ 1).' }),
    strategy: t.field({
      type: ConcurrencyStrategyEnum,
      description: 'QUEUE (default): wait; CANCEL_IN_PROGRESS: cancel the oldest; CANCEL_NEWEST: cancel the new run.',
    }),
  }),
});

type InputFieldBuilder = Parameters<NonNullable<Parameters<typeof builder.inputType>[1]['fields']>>[0];

/** Settings shared by create, update and patch (their types are checked by the services). */
function settingsFields(t: InputFieldBuilder) {
  return {
    metadata: t.field({
      type: 'JSON',
      description:
        'Free-form metadata object. In patchWorkflow: null clears it, a key set to null removes that key, other keys merge.',
    }),
    webhooksEnabled: t.boolean({ description: 'Send a signed webhook to webhookUrl when a run finishes.' }),
    webhookUrl: t.string({ description: 'Where completion webhooks go (http or https URL).' }),
    webhookSecret: t.string({
      description:
        'Secret (16–256 characters) that signs completion webhooks (X-Weft-Signature). Write-only; omitted: unchanged; null: removed.',
    }),
    commandAllowlist: t.stringList({
      description: 'Command templates script steps may run (`*` matches one argument).',
    }),
    postRunChecks: t.field({
      type: [PostRunCheckInput],
      description: 'Checks evaluated over every finished run, reconciled on save (see PostRunCheckInput).',
    }),
    includesFileExports: t.boolean({
      description: 'Store files declared in step outputs ({ "$file": { name, base64 | url } }) as run attachments.',
    }),
    maxConcurrentRuns: t.int({
      description: 'Most runs of this workflow RUNNING at once; null: only the global limit.',
    }),
    concurrency: t.field({ type: ConcurrencyInput, description: 'Per-key concurrency limit; null removes it.' }),
    tags: t.stringList({ description: "Tag names; missing tags are created. Replaces the workflow's tags." }),
  };
}

const CreateWorkflowInput = builder.inputType('CreateWorkflowInput', {
  description: 'A new workflow and the definition of its version 1.',
  fields: (t) => ({
    name: t.string({
      description:
        "1–200 characters (surrounding whitespace is trimmed). Required, unless the definition carries it as `name` (the reference docs' spelling).",
    }),
    description: t.string({ description: 'At most 5000 characters.' }),
    definition: t.field({
      type: 'JSON',
      required: true,
      description:
        'The definition: { steps: [...], inputSchema?, outputSchema?, output?, maxParallelSteps? } (docs/definition.md).',
    }),
    inputSchema: t.field({
      type: 'JSON',
      description:
        'JSON Schema of the run input; stored in the definition (versioned). Overrides definition.inputSchema.',
    }),
    outputSchema: t.field({
      type: 'JSON',
      description: 'JSON Schema of the run output; stored in the definition (versioned).',
    }),
    status: t.field({ type: WorkflowStatusEnum, description: 'Defaults to DRAFT.' }),
    triggerType: t.field({ type: TriggerTypeEnum, description: 'Defaults to MANUAL.' }),
    ...settingsFields(t),
  }),
});

const UpdateWorkflowInput = builder.inputType('UpdateWorkflowInput', {
  description:
    'The whole workflow (PUT semantics: fields left out are reset to their defaults, except webhookSecret). A changed definition creates a new version.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'Global ID of the workflow.' }),
    name: t.string({ description: '1–200 characters. Required, unless the definition carries it as `name`.' }),
    description: t.string({ description: 'At most 5000 characters.' }),
    definition: t.field({ type: 'JSON', required: true, description: 'The full definition.' }),
    inputSchema: t.field({ type: 'JSON', description: 'JSON Schema of the run input (stored in the definition).' }),
    outputSchema: t.field({ type: 'JSON', description: 'JSON Schema of the run output (stored in the definition).' }),
    status: t.field({ type: WorkflowStatusEnum, description: 'New status (default: unchanged).' }),
    triggerType: t.field({ type: TriggerTypeEnum, description: 'New trigger type (default: unchanged).' }),
    changeSummary: t.string({ description: "What changed and why; becomes the new version's changeSummary." }),
    ...settingsFields(t),
  }),
});

const PatchWorkflowInputRef = builder.inputType('PatchWorkflowInput', {
  description: 'Only the fields present are applied (absent ≠ null). A definition patch creates a new version.',
  fields: (t) => ({
    id: t.id({
      required: true,
      description:
        'Global ID of the workflow, or its name (case-insensitive; refused when several workflows share it).',
    }),
    name: t.string({ description: 'New name.' }),
    description: t.string({ description: 'New description; null clears it.' }),
    status: t.field({ type: WorkflowStatusEnum, description: 'New status.' }),
    triggerType: t.field({ type: TriggerTypeEnum, description: 'New trigger type.' }),
    definition: t.field({
      type: 'JSON',
      description:
        'Definition patch: { steps: { <stepId>: { …fields } | null }, inputSchema?, outputSchema?, output?, maxParallelSteps? }. A step object adds the step or updates it (config deep-merged, other fields replaced, a field set to null removed); null removes the step and dependencies on it. Top-level fields replace (null removes). The result is validated like any definition; problems point at steps by id. Creates a new version.',
    }),
    inputSchema: t.field({
      type: 'JSON',
      description:
        'New JSON Schema of the run input (null removes it); stored in the definition, so it creates a new version. Wins over definition.inputSchema.',
    }),
    outputSchema: t.field({
      type: 'JSON',
      description:
        'New JSON Schema of the run output (null removes it); stored in the definition, so it creates a new version.',
    }),
    baseVersion: t.int({
      description:
        'Version the definition patch applies to (default: the latest). Without strict, changes made after it are not carried over.',
    }),
    strict: t.boolean({
      description:
        'With baseVersion: refuse with CONFLICT when baseVersion is no longer the latest version (optimistic concurrency).',
    }),
    commitMessage: t.string({ description: "Becomes the new version's changeSummary (at most 5000 characters)." }),
    releaseLabels: t.stringList({
      description: 'Release labels to move (or attach) to the version this patch creates; needs a definition change.',
    }),
    ...settingsFields(t),
  }),
});

const WorkflowPayload = builder.objectRef<{ workflow: Workflow }>('WorkflowPayload').implement({
  description: 'The workflow after the change.',
  fields: (t) => ({
    workflow: t.field({ type: WorkflowRef, description: 'The workflow.', resolve: (p) => p.workflow }),
  }),
});

const CreateWorkflowPayload = builder.objectRef<{ workflow: Workflow }>('CreateWorkflowPayload').implement({
  description: 'The created workflow (with version 1).',
  fields: (t) => ({
    workflow: t.field({ type: WorkflowRef, description: 'The new workflow.', resolve: (p) => p.workflow }),
  }),
});

const DeleteWorkflowPayload = deletePayload(
  'DeleteWorkflowPayload',
  'The workflow was deleted with its versions, runs and schedules.',
  'deletedWorkflowId',
);

const WorkflowIdInput = builder.inputType('WorkflowIdInput', {
  description: 'Identifies a workflow.',
  fields: (t) => ({ id: t.id({ required: true, description: 'Global ID of the workflow.' }) }),
});

const wid = (id: string | number) => parseGlobalId(String(id), 'Workflow');

/** GraphQL input objects omit absent fields, so `Object.hasOwn` tells absent from null. */
function withoutGlobalIds<T extends { id: string | number }>(input: T): Omit<T, 'id'> & { id: string } {
  return { ...input, id: wid(input.id) };
}

builder.mutationFields((t) => ({
  createWorkflow: t.field({
    type: CreateWorkflowPayload,
    description:
      'Creates a workflow and its version 1. Invalid input is refused with every problem listed; nothing is written.',
    args: { input: t.arg({ type: CreateWorkflowInput, required: true }) },
    errors: mutationErrors('CreateWorkflowResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ workflow: await createWorkflow(ctx, input as CreateInput) })),
  }),
  updateWorkflow: t.field({
    type: WorkflowPayload,
    description: 'Replaces a workflow (PUT). A changed definition creates a new version with changeSummary.',
    args: { input: t.arg({ type: UpdateWorkflowInput, required: true }) },
    errors: mutationErrors('UpdateWorkflowResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        workflow: await updateWorkflow(ctx, withoutGlobalIds(input) as UpdateInput),
      })),
  }),
  patchWorkflow: t.field({
    type: WorkflowPayload,
    description:
      'Changes only the fields present. Definition patches create a new version from baseVersion (default latest); see PatchWorkflowInput.',
    args: { input: t.arg({ type: PatchWorkflowInputRef, required: true }) },
    errors: mutationErrors('PatchWorkflowResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        workflow: await patchWorkflow(ctx, {
          ...input,
          id: await resolveWorkflowId(ctx, String(input.id), ['input', 'id']),
        } as unknown as PatchWorkflowInput),
      })),
  }),
  deleteWorkflow: t.field({
    type: DeleteWorkflowPayload,
    description: 'Deletes a workflow with its versions, runs and schedules.',
    args: { input: t.arg({ type: WorkflowIdInput, required: true }) },
    errors: mutationErrors('DeleteWorkflowResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => {
        await deleteWorkflow(ctx, wid(input.id));
        return { deletedId: String(input.id) };
      }),
  }),
  setWorkflowStatus: t.field({
    type: WorkflowPayload,
    description: 'Sets DRAFT, ACTIVE, PAUSED or ARCHIVED. PAUSED and ARCHIVED workflows cannot be run.',
    args: {
      input: t.arg({
        type: builder.inputType('SetWorkflowStatusInput', {
          description: 'A workflow and its new status.',
          fields: (f) => ({
            id: f.id({ required: true, description: 'Global ID of the workflow.' }),
            status: f.field({ type: WorkflowStatusEnum, required: true, description: 'The new status.' }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('SetWorkflowStatusResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ workflow: await setWorkflowStatus(ctx, wid(input.id), input.status) })),
  }),
  duplicateWorkflow: t.field({
    type: WorkflowPayload,
    description:
      'Copies the current definition, description, tags and settings into a new DRAFT workflow with its own history (version 1). Release labels, runs, schedules and the inbound webhook secret are not copied.',
    args: {
      input: t.arg({
        type: builder.inputType('DuplicateWorkflowInput', {
          description: 'The workflow to copy.',
          fields: (f) => ({
            id: f.id({ required: true, description: 'Global ID of the workflow.' }),
            name: f.string({
              description: 'Name of the copy, 1–200 characters (default "<name> (copy)", the name shortened to fit).',
            }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('DuplicateWorkflowResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ workflow: await duplicateWorkflow(ctx, wid(input.id), input.name) })),
  }),
  rollbackWorkflow: t.field({
    type: WorkflowPayload,
    description: 'Creates a new version whose definition is that of an earlier version.',
    args: {
      input: t.arg({
        type: builder.inputType('RollbackWorkflowInput', {
          description: 'The workflow and the version to go back to.',
          fields: (f) => ({
            id: f.id({ required: true, description: 'Global ID of the workflow.' }),
            version: f.int({ required: true, description: 'The version whose definition to restore.' }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('RollbackWorkflowResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({ workflow: await rollbackWorkflow(ctx, wid(input.id), input.version) })),
  }),
  setReleaseLabel: t.field({
    type: WorkflowPayload,
    description:
      'Points a release label (e.g. "production") at a version, moving it if it exists. Runs can start by label.',
    args: {
      input: t.arg({
        type: builder.inputType('SetReleaseLabelInput', {
          description: 'Label, workflow and version.',
          fields: (f) => ({
            workflowId: f.id({ required: true, description: 'Global ID of the workflow.' }),
            label: f.string({ required: true, description: 'Lower-case label, e.g. "production".' }),
            version: f.int({ required: true, description: 'Version number to point at.' }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('SetReleaseLabelResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        workflow: await setReleaseLabel(ctx, {
          workflowId: wid(input.workflowId),
          label: input.label,
          version: input.version,
        }),
      })),
  }),
  removeReleaseLabel: t.field({
    type: WorkflowPayload,
    description: 'Removes a release label.',
    args: {
      input: t.arg({
        type: builder.inputType('RemoveReleaseLabelInput', {
          description: 'Label and workflow.',
          fields: (f) => ({
            workflowId: f.id({ required: true, description: 'Global ID of the workflow.' }),
            label: f.string({ required: true, description: 'The label to remove.' }),
          }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('RemoveReleaseLabelResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, async () => ({
        workflow: await removeReleaseLabel(ctx, { workflowId: wid(input.workflowId), label: input.label }),
      })),
  }),
}));
