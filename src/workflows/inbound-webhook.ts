// A WEBHOOK-triggered workflow's inbound address and its secret. The secret is generated here,
// sealed with the server's secrets key, and shown to the caller once; src/http/inbound-webhook.ts
// checks requests against it.
import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError } from '../errors.ts';
import type { ServiceScope } from '../scope.ts';
import { INBOUND_SECRET_LABEL, sealValue } from '../secrets/crypto.ts';

/** Where a run of the workflow is started by POST (relative to the server's origin). */
export function inboundWebhookPath(workflowId: string): string {
  return `/hooks/${encodeGlobalID('Workflow', workflowId)}`;
}

/** Creates or replaces the workflow's inbound secret; the old one stops working at once. */
export async function rotateWebhookSecret(
  scope: ServiceScope,
  workflowId: string,
): Promise<{ secret: string; path: string }> {
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  const { count } = await scope.prisma.workflow.updateMany({
    where: { id: workflowId, workspaceId: scope.workspaceId },
    data: { inboundSecret: sealValue(scope.secretsKey, INBOUND_SECRET_LABEL, secret) },
  });
  if (count === 0) throw new NotFoundError('Workflow', workflowId);
  return { secret, path: inboundWebhookPath(workflowId) };
}
