// Imports every type file (for their side effect of registering types) and builds the schema.
import { builder } from './builder.ts';
import { describeGeneratedTypes } from './describe-generated.ts';
import './errors.ts';
import './delete.ts';
import './enums.ts';
import './workflow.ts';
import './definition.ts';
import './workflow-mutations.ts';
import './workflow-webhook.ts';
import './tag.ts';
import './template.ts';
import './run.ts';
import './signal.ts';
import './event-payloads.ts';
import './loop-progress.ts';
import './subscription.ts';
import './schedule.ts';
import './secret.ts';
import './agent.ts';
import './auth.ts';
import './file.ts';

builder.queryType({ description: 'Read access to your workspace.', authScopes: { read: true } });
builder.mutationType({
  description: 'Changes. Each mutation is one transaction: it applies whole or not at all.',
  authScopes: { write: true },
});

export const schema = describeGeneratedTypes(builder.toSchema({ sortSchema: true }));
