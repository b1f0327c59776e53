// The `wait` step's config: a duration (seconds, until), a manual resume, an event
// (`event`, `match`) or a condition (`condition`, re-evaluated on every event and, with
// `pollSeconds` and `pollStep`, against a fresh run of an http_request step), the last two with a
// timeout and what happens then (`onTimeout`). The JSON Schema lists every field; which fields go
// together is checked here, so that a mix-up is reported in words ("match goes with event")
// rather than as ajv's oneOf noise. The timeout branch is checked against the whole definition.
import type { Problem } from '../errors.ts';

type Path = (string | number)[];
type Schema = Record<string, unknown>;

export const MAX_WAIT_SECONDS = 366 * 24 * 3600;
export const EVENT_NAME_PATTERN = '^[A-Za-z0-9_.:/-]{1,200}$';
/** The fields that say what a wait waits for: exactly one per wait. */
const KINDS = ['seconds', 'until', 'resume', 'event', 'condition'] as const;
/** The fields each kind may add. */
const OPTIONS: Record<(typeof KINDS)[number], string[]> = {
  seconds: [],
  until: [],
  resume: [],
  event: ['match', 'timeoutSeconds', 'onTimeout'],
  condition: ['pollSeconds', 'pollStep', 'timeoutSeconds', 'onTimeout'],
};

export type OnTimeout = 'fail' | 'continue' | { branch: string };

/** A wait for an event or a condition, as written in a definition (templates not rendered). */
export interface SignalWaitConfig {
  event?: string;
  match?: string;
  condition?: string;
  pollSeconds?: number;
  pollStep?: string;
  timeoutSeconds?: number | string;
  onTimeout?: OnTimeout;
}

export function waitConfigSchema(orTemplate: (description: string, schema: Schema) => Schema): Schema {
  const expression = { type: 'string', minLength: 1, description: 'an expression string' };
  return {
    type: 'object',
    description: 'exactly one of { seconds }, { until }, { resume: true }, { event } or { condition }',
    additionalProperties: false,
    properties: {
      seconds: orTemplate(`a number of seconds from 0 to ${MAX_WAIT_SECONDS}`, {
        type: 'number',
        minimum: 0,
        maximum: MAX_WAIT_SECONDS,
      }),
      until: orTemplate('an RFC 3339 date-time with a time zone (e.g. 2030-01-01T09:00:00Z)', {
        type: 'string',
        format: 'date-time',
      }),
      resume: { const: true, description: 'true' },
      event: {
        type: 'string',
        pattern: EVENT_NAME_PATTERN,
        description: 'an event name (1–200 letters, digits and _ . : / -)',
      },
      match: expression,
      condition: expression,
      pollSeconds: { type: 'number', minimum: 1, maximum: 86_400, description: 'a number of seconds from 1 to 86400' },
      pollStep: { type: 'string', minLength: 1, description: 'the id of an http_request step' },
      timeoutSeconds: orTemplate(`a number of seconds from 0 to ${MAX_WAIT_SECONDS}`, {
        type: 'number',
        minimum: 0,
        maximum: MAX_WAIT_SECONDS,
      }),
      onTimeout: {
        description: '"fail", "continue" or { "branch": "<step id>" }',
        anyOf: [
          { enum: ['fail', 'continue'] },
          {
            type: 'object',
            required: ['branch'],
            additionalProperties: false,
            properties: { branch: { type: 'string', minLength: 1 } },
          },
        ],
      },
    },
  };
}

/** Which fields go together (the schema has checked each field on its own). */
export function waitShapeProblems(config: unknown, path: Path, stepId: string | null): Problem[] {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return [];
  const keys = Object.keys(config);
  const kinds = KINDS.filter((k) => keys.includes(k));
  if (kinds.length !== 1) {
    return [
      {
        path,
        message: `must be exactly one of { seconds }, { until }, { resume: true }, { event } or { condition }${kinds.length > 1 ? ` (got ${kinds.join(', ')})` : ''}`,
        stepId,
      },
    ];
  }
  const kind = kinds[0]!;
  const problems: Problem[] = [];
  for (const key of keys) {
    if (key === kind || OPTIONS[kind].includes(key) || !Object.values(OPTIONS).some((o) => o.includes(key))) continue;
    const owners = KINDS.filter((k) => OPTIONS[k].includes(key));
    problems.push({
      path: [...path, key],
      message: `${key} goes with ${owners.join(' or ')}, not with ${kind}`,
      stepId,
    });
  }
  const c = config as SignalWaitConfig;
  if (kind === 'condition' && (c.pollSeconds === undefined) !== (c.pollStep === undefined)) {
    problems.push({
      path: [...path, c.pollSeconds === undefined ? 'pollSeconds' : 'pollStep'],
      message: 'is required: pollSeconds and pollStep go together',
      stepId,
    });
  }
  return problems;
}

/** The whole-expression fields of a wait config, with their paths. */
export function waitExpressions(
  config: Record<string, unknown>,
  path: Path,
): { path: Path; source: string; what: string }[] {
  const found: { path: Path; source: string; what: string }[] = [];
  if (typeof config.match === 'string')
    found.push({ path: [...path, 'match'], source: config.match, what: 'wait match expression' });
  if (typeof config.condition === 'string')
    found.push({ path: [...path, 'condition'], source: config.condition, what: 'wait condition expression' });
  return found;
}

interface StepLike {
  id?: unknown;
  type?: unknown;
  dependsOn?: unknown;
  config?: unknown;
}

/** A timeout branch must be a step that depends on the wait; a poll step must be an http_request step. */
export function waitReferenceProblems(steps: unknown[]): Problem[] {
  const problems: Problem[] = [];
  const byId = new Map<string, StepLike>();
  for (const step of steps)
    if (step && typeof step === 'object' && typeof (step as StepLike).id === 'string')
      byId.set((step as StepLike).id as string, step as StepLike);
  steps.forEach((raw, index) => {
    const step = raw as StepLike;
    if (step?.type !== 'wait' || !step.config || typeof step.config !== 'object') return;
    const id = typeof step.id === 'string' ? step.id : null;
    const config = step.config as SignalWaitConfig;
    const branch = typeof config.onTimeout === 'object' && config.onTimeout ? config.onTimeout.branch : undefined;
    if (typeof branch === 'string') {
      const target = byId.get(branch);
      const deps = Array.isArray(target?.dependsOn) ? target!.dependsOn : [];
      if (!target)
        problems.push({
          path: ['steps', index, 'config', 'onTimeout', 'branch'],
          message: `Step '${branch}' doesn't exist`,
          stepId: id,
        });
      else if (!deps.includes(id))
        problems.push({
          path: ['steps', index, 'config', 'onTimeout', 'branch'],
          message: `Step '${branch}' must depend on '${id}' to be its timeout branch`,
          stepId: id,
        });
    }
    if (typeof config.pollStep === 'string') {
      const target = byId.get(config.pollStep);
      if (!target)
        problems.push({
          path: ['steps', index, 'config', 'pollStep'],
          message: `Step '${config.pollStep}' doesn't exist`,
          stepId: id,
        });
      else if (target.type !== 'http_request')
        problems.push({
          path: ['steps', index, 'config', 'pollStep'],
          message: `Step '${config.pollStep}' is a ${String(target.type)} step; pollStep must name an http_request step`,
          stepId: id,
        });
    }
  });
  return problems;
}
