// WeftError: every failure the client reports, whether the server said it as a GraphQL error
// (`extensions.code`), as a typed error of a mutation's result union (`... on Error { code
// message }`), or the client could not reach the server at all. Callers switch on `code`.

/** One problem of a VALIDATION_FAILED error: what is wrong, and where in the input. */
export interface Problem {
  path: string[];
  message: string;
  stepId?: string | null;
}

/**
 * Codes the client adds to the server's (VALIDATION_FAILED, NOT_FOUND, CONFLICT, UNAUTHENTICATED,
 * FORBIDDEN, RATE_LIMITED, BAD_USER_INPUT, GRAPHQL_VALIDATION_FAILED, … see the README):
 * - NETWORK_ERROR: the server could not be reached (or a stream could not reconnect in time);
 * - BAD_RESPONSE: the server answered something that is not a GraphQL response;
 * - NO_WEBSOCKET: subscriptions need a WebSocket implementation and none was found.
 */
export type ClientErrorCode = 'NETWORK_ERROR' | 'BAD_RESPONSE' | 'NO_WEBSOCKET';

export interface WeftErrorOptions {
  path?: readonly (string | number)[];
  problems?: Problem[];
  /** HTTP status of the response, when there was one. */
  status?: number;
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

export class WeftError extends Error {
  override readonly name = 'WeftError';
  /** Stable machine-readable code (the GraphQL `extensions.code`, a typed error's `code`, or a ClientErrorCode). */
  readonly code: string;
  /** Where in the response the error happened (GraphQL errors only). */
  readonly path?: readonly (string | number)[];
  /** Every problem, for VALIDATION_FAILED. */
  readonly problems?: Problem[];
  readonly status?: number;
  readonly extensions?: Record<string, unknown>;

  constructor(code: string, message: string, options: WeftErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.path) this.path = options.path;
    if (options.problems) this.problems = options.problems;
    if (options.status !== undefined) this.status = options.status;
    if (options.extensions) this.extensions = options.extensions;
  }
}

interface GraphQLErrorLike {
  message?: unknown;
  path?: unknown;
  extensions?: { code?: unknown; problems?: unknown; [key: string]: unknown };
}

/** A WeftError from one entry of a response's `errors` (or of a subscription's error message). */
export function fromGraphQLError(error: GraphQLErrorLike, status?: number): WeftError {
  const extensions = error.extensions ?? {};
  const code = typeof extensions.code === 'string' ? extensions.code : 'INTERNAL_SERVER_ERROR';
  const message = typeof error.message === 'string' ? error.message : 'Unknown error';
  return new WeftError(code, message, {
    ...(Array.isArray(error.path) ? { path: error.path as (string | number)[] } : {}),
    ...(Array.isArray(extensions.problems) ? { problems: extensions.problems as Problem[] } : {}),
    ...(status !== undefined ? { status } : {}),
    extensions,
  });
}

/**
 * A typed error returned as data (a member of a mutation's result union that implements
 * `Error`): an object with a SCREAMING_SNAKE_CASE string `code` and a string `message`.
 */
export function typedErrorOf(value: unknown): WeftError | null {
  if (!value || typeof value !== 'object') return null;
  const { code, message, problems } = value as { code?: unknown; message?: unknown; problems?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string' || !/^[A-Z][A-Z_]*$/.test(code)) return null;
  return new WeftError(code, message, Array.isArray(problems) ? { problems: problems as Problem[] } : {});
}

/** Normalises anything thrown into an Error (for `cause` and messages). */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (value && typeof value === 'object' && 'code' in value && 'reason' in value) {
    const { code, reason } = value as { code: unknown; reason: unknown };
    return new Error(`connection closed (${String(code)}${reason ? `: ${String(reason)}` : ''})`);
  }
  const message =
    value && typeof value === 'object' && 'message' in value ? String((value as { message: unknown }).message) : '';
  if (message) return new Error(message);
  // A WebSocket 'error' Event says nothing more (browsers and Node alike): the usual cause is
  // that nothing accepts connections there (yet).
  if (value && typeof value === 'object' && 'type' in value)
    return new Error('cannot connect (WebSocket error; is the server running?)');
  return new Error(String(value));
}
