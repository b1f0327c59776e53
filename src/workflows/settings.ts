// Workflow settings that are not versioned with the definition: metadata, webhooks, the
// command allowlist, post-run checks and concurrency limits. Shared by create, update
// (replace) and patch (merge), so they are validated the same way everywhere.
import { checkExpression } from '../engine/expressions.ts';
import { sealValue, WEBHOOK_SECRET_LABEL } from '../secrets/crypto.ts';
import type { Problem } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { isPlainObject } from '../json.ts';
import { reconcileChecks, validateChecks, type PostRunCheckInput } from '../checks/definition.ts';

export const CONCURRENCY_STRATEGIES = ['QUEUE', 'CANCEL_IN_PROGRESS', 'CANCEL_NEWEST'] as const;

export interface ConcurrencyInput {
  key: string;
  limit: number;
  strategy?: (typeof CONCURRENCY_STRATEGIES)[number] | null;
}

export type { PostRunCheckInput };

export interface SettingsInput {
  metadata?: unknown;
  webhooksEnabled?: boolean | null;
  webhookUrl?: string | null;
  webhookSecret?: string | null;
  commandAllowlist?: string[] | null;
  postRunChecks?: PostRunCheckInput[] | null;
  includesFileExports?: boolean | null;
  maxConcurrentRuns?: number | null;
  concurrency?: ConcurrencyInput | null;
}

const SETTING_KEYS = [
  'metadata',
  'webhooksEnabled',
  'webhookUrl',
  'webhookSecret',
  'commandAllowlist',
  'postRunChecks',
  'includesFileExports',
  'maxConcurrentRuns',
  'concurrency',
] as const;

/** Every problem with the settings present in `input` (absent ones are not checked). */
export function validateSettings(input: SettingsInput, path: (string | number)[]): Problem[] {
  const problems: Problem[] = [];
  const at = (...rest: (string | number)[]) => [...path, ...rest];
  if (input.metadata != null && !isPlainObject(input.metadata))
    problems.push({ path: at('metadata'), message: 'must be a JSON object' });
  if (input.webhookUrl != null) {
    try {
      const url = new URL(input.webhookUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    } catch {
      problems.push({ path: at('webhookUrl'), message: 'must be an http(s) URL' });
    }
  }
  if (input.webhookSecret != null && (input.webhookSecret.length < 16 || input.webhookSecret.length > 256))
    problems.push({ path: at('webhookSecret'), message: 'must be 16–256 characters' });
  input.commandAllowlist?.forEach((template, i) => {
    if (!template.trim() || template.length > 500)
      problems.push({
        path: at('commandAllowlist', i),
        message: 'must be a non-empty command template of at most 500 characters',
      });
  });
  if (input.postRunChecks) problems.push(...validateChecks(input.postRunChecks, at('postRunChecks')));
  if (input.maxConcurrentRuns != null && (input.maxConcurrentRuns < 1 || input.maxConcurrentRuns > 10_000))
    problems.push({ path: at('maxConcurrentRuns'), message: 'must be between 1 and 10000' });
  if (input.concurrency != null) {
    const error = checkExpression(input.concurrency.key);
    if (error) problems.push({ path: at('concurrency', 'key'), message: `invalid expression: ${error}` });
    if (input.concurrency.limit < 1 || input.concurrency.limit > 10_000)
      problems.push({ path: at('concurrency', 'limit'), message: 'must be between 1 and 10000' });
  }
  return problems;
}

/** Prisma data for the settings present in `input`; with `replace`, absent ones are reset. */
export function settingsData(
  input: SettingsInput,
  replace: boolean,
  secretsKey: Buffer | null,
  previousChecks: unknown = null,
): Prisma.WorkflowUpdateInput {
  const data: Prisma.WorkflowUpdateInput = {};
  const has = (key: (typeof SETTING_KEYS)[number]) => replace || Object.hasOwn(input, key);
  const json = (value: unknown) => (value == null ? Prisma.DbNull : (value as Prisma.InputJsonValue));
  if (has('metadata')) data.metadata = json(input.metadata);
  if (has('webhooksEnabled')) data.webhooksEnabled = input.webhooksEnabled ?? false;
  if (has('webhookUrl')) data.webhookUrl = input.webhookUrl ?? null;
  if (has('webhookSecret') && (replace ? input.webhookSecret !== undefined : true))
    data.webhookSecret =
      input.webhookSecret == null ? null : sealValue(secretsKey, WEBHOOK_SECRET_LABEL, input.webhookSecret);
  if (has('commandAllowlist')) data.commandAllowlist = input.commandAllowlist ?? [];
  if (has('postRunChecks'))
    data.postRunChecks = json(
      input.postRunChecks?.length ? reconcileChecks(previousChecks, input.postRunChecks) : null,
    );
  if (has('includesFileExports')) data.includesFileExports = input.includesFileExports ?? false;
  if (has('maxConcurrentRuns')) data.maxConcurrentRuns = input.maxConcurrentRuns ?? null;
  if (has('concurrency'))
    data.concurrency = json(
      input.concurrency ? { ...input.concurrency, strategy: input.concurrency.strategy ?? 'QUEUE' } : null,
    );
  return data;
}
