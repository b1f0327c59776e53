// The server-wide settings step handlers get (StepEnvironment), as the engine builds them from
// config, for tests that call a handler directly.
import { loadConfig } from '../../src/config.ts';
import { createOutboundFetch, createOutboundPolicy } from '../../src/engine/outbound.ts';
import type { StepContext, StepEnvironment } from '../../src/engine/steps/types.ts';

/** From environment variables as the server reads them (WEFT_OUTBOUND_ALLOW=loopback unless given). */
export function stepEnvFrom(vars: Record<string, string> = {}): StepEnvironment {
  const config = loadConfig({ WEFT_OUTBOUND_ALLOW: 'loopback', ...vars });
  const outbound = createOutboundPolicy(config.steps.outboundAllow);
  return { ...config.steps, fetch: createOutboundFetch(outbound), resolveOutbound: (host) => outbound.resolve(host) };
}

export type TestStepContext = StepContext & { lines: string[] };

/** A handler's context for one attempt, collecting its log lines in `lines`. */
export function stepContext(
  config: Record<string, unknown>,
  env: StepEnvironment,
  overrides: Partial<StepContext> = {},
): TestStepContext {
  const lines: string[] = [];
  return {
    runId: 'run-1',
    stepId: 'step-1',
    attempt: 1,
    config,
    signal: new AbortController().signal,
    log: (line) => void lines.push(line),
    env,
    workflow: { commandAllowlist: [] },
    idempotencyKey: 'run-1:step-1',
    lines,
    ...overrides,
  };
}
