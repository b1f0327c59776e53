// validateWorkflowDefinition: the same validation every saving mutation runs, without saving.
import type { Problem } from '../errors.ts';
import { validateDefinition } from '../workflows/definition.ts';
import { builder } from './builder.ts';
import { ProblemRef } from './errors.ts';

const DefinitionValidationRef = builder.objectRef<{ valid: boolean; errors: Problem[] }>('DefinitionValidation').implement({
  description: 'The result of validating a workflow definition.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'True when there are no problems.' }),
    errors: t.field({ type: [ProblemRef], description: 'Every problem, each with a message, a path from the definition root and the step id.', resolve: (r) => r.errors }),
  }),
});

builder.queryFields((t) => ({
  validateWorkflowDefinition: t.field({
    type: DefinitionValidationRef,
    description: 'Validates a definition without saving it: duplicate ids, missing dependencies, cycles, unknown step types, per-type config errors, bad expressions, invalid input/output JSON Schemas.',
    args: { definition: t.arg({ type: 'JSON', required: true, description: 'The definition to check.' }) },
    resolve: (_root, args) => {
      const errors = validateDefinition(args.definition);
      return { valid: errors.length === 0, errors };
    },
  }),
}));
