// Input that every layer below would choke on is refused at the edge, for every operation on
// every transport (HTTP, SSE, graphql-ws), before any resolver runs:
// - U+0000 in any string or object key: PostgreSQL's text and jsonb cannot hold it, so it would
//   otherwise surface as a database error half-way through a mutation;
// - JSON nested deeper than MAX_JSON_DEPTH: graphql-js coercion, ajv, JSONata and Prisma's
//   serialiser all recurse, and 20,000 levels overflow the stack;
// - a document nested deeper than MAX_DOCUMENT_NESTING: graphql-js's parser recurses too, so the
//   text is measured before it is parsed.
// The same checks serve the REST routes that take JSON (inbound webhooks).
import { GraphQLError, Kind, visit, type ASTNode, type DocumentNode, type ObjectFieldNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ValidationError, type Problem } from '../errors.ts';

/** Deepest JSON value accepted anywhere (variables, JSON arguments, webhook bodies). */
export const MAX_JSON_DEPTH = 100;
/** Deepest bracket nesting accepted in a document's text (selections plus literal values). */
export const MAX_DOCUMENT_NESTING = 150;
/** Problems reported per request: enough to fix the input, bounded for a hostile one. */
const MAX_PROBLEMS = 20;

const NUL = '\u0000';
const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

/**
 * Every NUL and over-deep spot in a JSON value, each with its path. Iterative, so the walk itself
 * cannot overflow however deep the value is.
 */
export function jsonInputProblems(value: unknown, root: (string | number)[] = []): Problem[] {
  const problems: Problem[] = [];
  const stack: [unknown, (string | number)[]][] = [[value, root]];
  while (stack.length > 0 && problems.length < MAX_PROBLEMS) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes(NUL)) problems.push({ path, message: NUL_MESSAGE });
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (path.length - root.length >= MAX_JSON_DEPTH) {
      problems.push({ path, message: `is nested more than ${MAX_JSON_DEPTH} levels deep` });
      continue;
    }
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], [...path, i]]);
      continue;
    }
    const entries = Object.entries(current);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (key.includes(NUL))
        problems.push({ path: [...path, key.replaceAll(NUL, '\\u0000')], message: `key ${NUL_MESSAGE}` });
      else stack.push([child, [...path, key]]);
    }
  }
  return problems;
}

/** The path of a literal inside the document: field, argument and input-object field names. */
function literalPath(ancestors: readonly (ASTNode | readonly ASTNode[])[]): string[] {
  const path: string[] = [];
  for (const node of ancestors) {
    if (Array.isArray(node) || !('kind' in (node as ASTNode))) continue;
    const n = node as ASTNode;
    if (n.kind === Kind.FIELD) path.push(n.alias?.value ?? n.name.value);
    else if (n.kind === Kind.ARGUMENT) path.push(n.name.value);
    else if (n.kind === Kind.OBJECT_FIELD) path.push((n as ObjectFieldNode).name.value);
  }
  return path;
}

/** NULs in the document's string literals (their depth is bounded by the text check). */
function documentProblems(document: DocumentNode): Problem[] {
  const problems: Problem[] = [];
  visit(document, {
    StringValue(node, _key, _parent, _path, ancestors) {
      if (problems.length < MAX_PROBLEMS && node.value.includes(NUL))
        problems.push({ path: literalPath(ancestors), message: NUL_MESSAGE });
    },
  });
  return problems;
}

/** Deepest nesting of {, [ and ( in a document's text, outside strings and comments. */
export function documentNesting(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '#') {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
    } else if (c === '"') {
      if (text.startsWith('"""', i)) {
        const end = text.indexOf('"""', i + 3);
        i = end === -1 ? text.length : end + 2;
      } else {
        for (i++; i < text.length && text[i] !== '"' && text[i] !== '\n'; i++) if (text[i] === '\\') i++;
      }
    } else if (c === '{' || c === '[' || c === '(') {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === '}' || c === ']' || c === ')') depth = Math.max(0, depth - 1);
  }
  return deepest;
}

function refuse(problems: Problem[]) {
  return { errors: [new ValidationError(problems)] };
}

export function inputGuardPlugin(): Plugin {
  const check = (document: DocumentNode, variables: Record<string, unknown> | null | undefined) => [
    ...documentProblems(document),
    ...Object.entries(variables ?? {}).flatMap(([name, value]) => jsonInputProblems(value, [name])),
  ];
  return {
    onParse({ params, setParseFn }) {
      const text = typeof params.source === 'string' ? params.source : params.source.body;
      const nesting = documentNesting(text);
      if (nesting <= MAX_DOCUMENT_NESTING) return;
      setParseFn(() => {
        throw new GraphQLError(
          `Syntax Error: the document is nested ${nesting} levels deep; at most ${MAX_DOCUMENT_NESTING} are accepted`,
          {
            extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } },
          },
        );
      });
    },
    onExecute({ args, setResultAndStopExecution }) {
      const problems = check(args.document, args.variableValues);
      if (problems.length) setResultAndStopExecution(refuse(problems));
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const problems = check(args.document, args.variableValues);
      if (problems.length) setResultAndStopExecution(refuse(problems));
    },
  };
}
