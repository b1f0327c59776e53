// validateWorkflowDefinition: the same validation every saving mutation runs, without saving.
import type { Problem } from '../errors.ts';
import { agentReferenceProblems } from '../agents/service.ts';
import { validateDefinition } from '../workflows/definition.ts';
import { normaliseDefinition } from '../workflows/spellings.ts';
import { builder } from './builder.ts';
import { ProblemRef } from './errors.ts';

const DefinitionValidationRef = builder
  .objectRef<{ valid: boolean; errors: Problem[]; definition: unknown }>('DefinitionValidation')
  .implement({
    description: 'The result of validating a workflow definition.',
    fields: (t) => ({
      valid: t.exposeBoolean('valid', { description: 'True when there are no problems.' }),
      errors: t.field({
        type: [ProblemRef],
        description: 'Every problem, each with a message, a path from the definition root and the step id.',
        resolve: (r) => r.errors,
      }),
      normalizedDefinition: t.field({
        type: 'JSON',
        description:
          "The definition as it would be stored: the reference docs' spellings (depends_on, agent_id, …) in canonical form, a top-level `name` taken out.",
        resolve: (r) => r.definition,
      }),
    }),
  });

builder.queryFields((t) => ({
  validateWorkflowDefinition: t.field({
    type: DefinitionValidationRef,
    description:
      'Validates a definition without saving it: duplicate ids, missing dependencies, cycles, unknown step types, per-type config errors, bad expressions, invalid input/output JSON Schemas.',
    args: { definition: t.arg({ type: 'JSON', required: true, description: 'The definition to check.' }) },
    resolve: async (_root, args, ctx) => {
      const normalised = normaliseDefinition(args.definition);
      const errors = [
        ...normalised.problems,
        ...validateDefinition(normalised.definition),
        ...(await agentReferenceProblems(ctx.prisma, ctx.workspaceId, normalised.definition)),
      ];
      return { valid: errors.length === 0, errors, definition: normalised.definition };
    },
  }),
}));
