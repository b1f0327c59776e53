// The handlers of step types that do outside work. condition, wait and loop are control flow
// and are handled by the executor itself.
import { agentTaskStep } from './agent-task.ts';
import { httpRequestStep } from './http-request.ts';
import { scriptStep } from './script.ts';
import type { StepHandler } from './types.ts';
import { webhookStep } from './webhook.ts';

export const stepHandlers: Record<'http_request' | 'webhook' | 'script' | 'agent_task', StepHandler> = {
  http_request: httpRequestStep,
  webhook: webhookStep,
  script: scriptStep,
  agent_task: agentTaskStep,
};
