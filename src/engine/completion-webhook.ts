// The signed webhook a workflow with webhooks enabled receives when one of its runs finishes.
// Sent after the run's final state is committed; delivery is attempted a few times and its
// outcome recorded as a run event. (Runs keep their result whether or not delivery succeeds.)
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { PrismaClient } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { FinishedRun } from './finalize.ts';
import { appendEvents, type EventBus } from '../events/log.ts';
import type { OutboundFetch } from './outbound.ts';
import { openValue, WEBHOOK_SECRET_LABEL } from '../secrets/crypto.ts';
import { signWebhookPayload } from '../webhooks/signing.ts';
import { coerceError } from '../errors.ts';

const ATTEMPTS = 3;
const TIMEOUT_MS = 10_000;

export async function deliverCompletionWebhook(
  prisma: PrismaClient,
  bus: EventBus,
  run: FinishedRun,
  log: Logger,
  fetch: OutboundFetch,
  secretsKey: Buffer | null,
): Promise<void> {
  if (!run.workflowId) return;
  const workflow = await prisma.workflow.findUnique({
    where: { id: run.workflowId },
    select: { webhooksEnabled: true, webhookUrl: true, webhookSecret: true },
  });
  if (!workflow?.webhooksEnabled || !workflow.webhookUrl) return;
  // Global ids, like every id the API shows, so that `run(id:)` and `workflow(id:)` take them as they are.
  const body = JSON.stringify({
    event: 'run.finished',
    runId: encodeGlobalID('Run', run.runId),
    workflowId: encodeGlobalID('Workflow', run.workflowId),
    status: run.status,
    output: run.output,
    error: run.error,
    finishedAt: new Date().toISOString(),
  });
  let lastError = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': `${run.runId}:completion`,
    };
    if (workflow.webhookSecret)
      Object.assign(
        headers,
        signWebhookPayload(openValue(secretsKey, WEBHOOK_SECRET_LABEL, workflow.webhookSecret), timestamp, body),
      );
    try {
      const res = await fetch(workflow.webhookUrl, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
        redirect: 'manual',
      });
      await res.body?.cancel();
      if (res.ok)
        return record(prisma, bus, run, 'WEBHOOK_DELIVERED', { url: workflow.webhookUrl, status: res.status, attempt });
      lastError = `HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) break;
    } catch (error) {
      lastError = coerceError(error).message;
      if (coerceError(error).name === 'OutboundBlockedError') break;
    }
    if (attempt < ATTEMPTS) await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
  }
  log.warn({ runId: run.runId, error: lastError }, 'completion webhook failed');
  await record(prisma, bus, run, 'WEBHOOK_FAILED', { url: workflow.webhookUrl, error: lastError });
}

async function record(
  prisma: PrismaClient,
  bus: EventBus,
  run: FinishedRun,
  type: 'WEBHOOK_DELIVERED' | 'WEBHOOK_FAILED',
  data: Record<string, unknown>,
) {
  const events = await prisma.$transaction((tx) =>
    appendEvents(tx, { id: run.runId, workspaceId: run.workspaceId }, [{ type, data }]),
  );
  bus.publish(events);
}
