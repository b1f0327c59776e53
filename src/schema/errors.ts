// GraphQL side of expected failures: the Error interface, one object type per error class,
// and `withTypedErrors`, which decides how a failure reaches the client.
import { Kind, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { ConflictError, ERROR_CODES, NotFoundError, ValidationError, WeftError, type Problem } from '../errors.ts';
import { builder } from './builder.ts';

export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'Stable machine-readable error codes; also sent as `extensions.code` on GraphQL errors.',
  values: ERROR_CODES,
});

export const ErrorInterface = builder.interfaceRef<WeftError>('Error').implement({
  description: 'An expected failure. Select `... on Error { code message }` on any mutation result.',
  fields: (t) => ({
    code: t.field({ type: ErrorCodeEnum, description: 'Stable error code.', resolve: (e) => e.code }),
    message: t.exposeString('message', { description: 'Human-readable explanation.' }),
  }),
});

export const ProblemRef = builder.objectRef<Problem>('Problem').implement({
  description: 'One problem found in the input.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What is wrong.' }),
    path: t.stringList({
      description:
        'Where, as path segments from the root of the input (array indexes as strings), e.g. ["input", "definition", "steps", "1", "dependsOn", "0"].',
      resolve: (p) => p.path.map(String),
    }),
    stepId: t.string({
      nullable: true,
      description: 'The step the problem is about, for workflow definitions.',
      resolve: (p) => p.stepId ?? null,
    }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input was invalid; `problems` lists every problem with its path. Nothing was written.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({
    problems: t.field({
      type: [ProblemRef],
      description: 'Every problem found, each with its path.',
      resolve: (e) => e.problems,
    }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The object does not exist, or belongs to another workspace (the two are indistinguishable).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({
    resource: t.exposeString('resource', { description: 'The kind of object, e.g. "Workflow".' }),
    id: t.exposeString('resourceId', { description: 'The id that was looked up.' }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change conflicts with the current state (e.g. a stale base version). Re-read and retry.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: () => ({}),
});

export const MUTATION_ERRORS = [ValidationError, NotFoundError, ConflictError];

/** The errors option of every mutation: its result is the union `name` of the payload and the typed errors. */
export function mutationErrors(name: string) {
  return { types: MUTATION_ERRORS, directResult: true, union: { name } } as const;
}

function selectsTypeCondition(
  set: SelectionSetNode | undefined,
  names: Set<string>,
  fragments: Record<string, FragmentDefinitionNode>,
): boolean {
  if (!set) return false;
  return set.selections.some((selection) => {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const on = selection.typeCondition?.name.value;
      return (on !== undefined && names.has(on)) || selectsTypeCondition(selection.selectionSet, names, fragments);
    }
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = fragments[selection.name.value];
      return (
        !!fragment &&
        (names.has(fragment.typeCondition.name.value) || selectsTypeCondition(fragment.selectionSet, names, fragments))
      );
    }
    return false;
  });
}

/**
 * Mutations return result unions (success payload | typed errors). A client that selects the
 * error branch (`... on Error`, `... on ValidationError`, …) gets the typed error as data. A
 * client that does not would otherwise receive an empty object and never notice the failure,
 * so for it the failure is raised as a GraphQL error with `extensions.code` instead.
 */
export async function withTypedErrors<T>(info: GraphQLResolveInfo, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof WeftError)) throw error;
    const names = new Set(['Error', error.name]);
    const typed = info.fieldNodes.some((node) => selectsTypeCondition(node.selectionSet, names, info.fragments));
    if (typed) throw error;
    throw new WeftError(error.code, error.message, { ...error.extensions }, error);
  }
}
