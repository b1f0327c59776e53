// A WEBHOOK-triggered workflow's inbound address and secret: the Workflow fields and
// rotateWebhookSecret (the service is src/workflows/inbound-webhook.ts).
import { parseGlobalId } from '../ids.ts';
import { inboundWebhookPath, rotateWebhookSecret } from '../workflows/inbound-webhook.ts';
import { builder } from './builder.ts';
import { mutationErrors, withTypedErrors } from './errors.ts';

builder.prismaObjectField('Workflow', 'inboundWebhookPath', (t) =>
  t.string({
    nullable: true,
    description:
      'For triggerType WEBHOOK: the path (POST /hooks/<id>) that starts a run with the JSON body as input; null for other workflows.',
    select: { triggerType: true },
    resolve: (w) => (w.triggerType === 'WEBHOOK' ? inboundWebhookPath(w.id) : null),
  }),
);
builder.prismaObjectField('Workflow', 'hasInboundWebhookSecret', (t) =>
  t.boolean({
    description: 'Whether an inbound webhook secret is set (see rotateWebhookSecret).',
    select: { inboundSecret: true },
    resolve: (w) => !!w.inboundSecret,
  }),
);

const WebhookSecretPayload = builder.objectRef<{ secret: string; path: string }>('WebhookSecretPayload').implement({
  description: 'The new inbound webhook secret. It is shown only this once.',
  fields: (t) => ({
    secret: t.exposeString('secret', {
      description: 'Send it as `Authorization: Bearer <secret>`, or use it to sign bodies (X-Weft-Signature).',
    }),
    path: t.exposeString('path', { description: 'POST here to start a run: /hooks/<workflow id>.' }),
  }),
});

builder.mutationFields((t) => ({
  rotateWebhookSecret: t.field({
    skipTypeScopes: true,
    authScopes: { admin: true },
    type: WebhookSecretPayload,
    description:
      'Creates (or replaces) the inbound webhook secret of a workflow; the old one stops working at once. The secret is returned only here.',
    args: {
      input: t.arg({
        type: builder.inputType('RotateWebhookSecretInput', {
          description: 'The workflow.',
          fields: (f) => ({ workflowId: f.id({ required: true, description: 'Global ID of the workflow.' }) }),
        }),
        required: true,
      }),
    },
    errors: mutationErrors('RotateWebhookSecretResult'),
    resolve: (_r, { input }, ctx, info) =>
      withTypedErrors(info, () => rotateWebhookSecret(ctx, parseGlobalId(String(input.workflowId), 'Workflow'))),
  }),
}));
