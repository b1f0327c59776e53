// Expected failures. Each carries a stable code; as GraphQL errors they surface as
// `extensions.code` (and `extensions.problems` for validation), and the Pothos errors plugin
// can also return them as typed members of a mutation's result union.
import { GraphQLError } from 'graphql';

export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'NOT_FOUND',
  'CONFLICT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'QUOTA_EXCEEDED',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One problem with the input: where (path from the root of the input) and what. */
export interface Problem {
  path: (string | number)[];
  message: string;
  stepId?: string | null;
}

export class WeftError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}, cause?: unknown) {
    super(message, { extensions: { code, ...extensions }, originalError: cause instanceof Error ? cause : undefined });
    this.code = code;
    this.name = 'WeftError';
  }
}

export class ValidationError extends WeftError {
  readonly problems: Problem[];

  constructor(problems: Problem[], message?: string) {
    const first = problems[0];
    const summary =
      message ??
      (first
        ? `Validation failed: ${first.path.length ? `${first.path.join('.')}: ` : ''}${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`
        : 'Validation failed');
    super('VALIDATION_FAILED', summary, { problems: problems.map((p) => ({ ...p, path: p.path.map(String) })) });
    this.problems = problems;
    this.name = 'ValidationError';
  }

  static single(path: (string | number)[], message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

export class NotFoundError extends WeftError {
  readonly resource: string;
  readonly resourceId: string;

  constructor(resource: string, id: string) {
    super('NOT_FOUND', `${resource} ${JSON.stringify(id)} was not found`, { resource, id });
    this.resource = resource;
    this.resourceId = id;
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends WeftError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super('CONFLICT', message, extensions);
    this.name = 'ConflictError';
  }
}

/** Normalises anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value), { cause: value });
}

/** No valid credentials (HTTP 401). The message says how to pass them. */
export class UnauthenticatedError extends WeftError {
  constructor(message = 'Authentication required: send "Authorization: Bearer <API key or JWT>"') {
    super('UNAUTHENTICATED', message, {
      http: { status: 401, headers: { 'www-authenticate': 'Bearer realm="weft"' } },
    });
    this.name = 'UnauthenticatedError';
  }
}

/** Authenticated, but not allowed. `wholeRequest`: refused before execution (HTTP 403). */
export class ForbiddenError extends WeftError {
  constructor(message: string, wholeRequest = false) {
    super('FORBIDDEN', message, wholeRequest ? { http: { status: 403 } } : {});
    this.name = 'ForbiddenError';
  }
}

/** Too many requests for this caller (HTTP 429 with Retry-After). */
export class RateLimitedError extends WeftError {
  constructor(retryAfterSeconds: number) {
    super('RATE_LIMITED', `Rate limit exceeded; retry after ${retryAfterSeconds} s`, {
      retryAfterSeconds,
      http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } },
    });
    this.name = 'RateLimitedError';
  }
}
