// Every error a client can receive carries a stable `extensions.code`. Our own errors set
// theirs; this plugin labels the ones graphql-js produces before any resolver runs, with the
// codes Apollo clients already know.
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

function withCode(error: GraphQLError, code: string, extra: Record<string, unknown> = {}): GraphQLError {
  if (error.extensions?.code) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, ...extra, code },
  });
}

export function errorCodesPlugin(): Plugin {
  return {
    // GET and form requests carry `variables` and `extensions` as JSON text; yoga parses them with
    // a bare JSON.parse, so `variables={{` would otherwise be an unexpected (500) error.
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof GraphQLError && error.extensions?.originalError) {
            // yoga attaches the JSON parser's SyntaxError (name, message) to a bad body's error
            // whatever the mode: a client gets the message and code, never a library's internals.
            const { originalError: _internal, ...extensions } = error.extensions;
            throw new GraphQLError(error.message, { extensions });
          }
          if (!(error instanceof SyntaxError)) throw error;
          throw new GraphQLError('The "variables" and "extensions" parameters must be JSON objects', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
      });
    },
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError) replaceParseResult(withCode(result, 'GRAPHQL_PARSE_FAILED'));
      };
    },
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length) setResult(result.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED')));
      };
    },
    // Last line of defence: errors that reached the result without a code are request errors
    // raised outside the hooks above (e.g. by graphql-armor's limits): label them, and answer 400.
    onExecutionResult({ result, setResult }) {
      if (!result || Symbol.asyncIterator in result || !result.errors?.some((e) => !e.extensions?.code)) return;
      const errors = result.errors.map((e) => {
        if (e.extensions?.code) return e;
        // Unmasked errors raised while resolving a field by a library (e.g. the relay plugin's
        // "Invalid global ID" while decoding an argument) are about the caller's input.
        if (e.path) return withCode(e, 'BAD_USER_INPUT');
        return withCode(e, /^Syntax Error/.test(e.message) ? 'GRAPHQL_PARSE_FAILED' : 'GRAPHQL_VALIDATION_FAILED', {
          http: { status: 400 },
        });
      });
      setResult({ ...result, errors });
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          // Variable coercion failures come back from execute() as errors without a path.
          if ('errors' in result && result.errors?.length && !('data' in result && result.data)) {
            setResult({ ...result, errors: result.errors.map((e) => (e.path ? e : withCode(e, 'BAD_USER_INPUT'))) });
          }
        },
      };
    },
  };
}
