// The one JSON error body of Weft's REST routes, shaped like a GraphQL error so that a client
// reads both the same way: { "errors": [{ "message", "extensions": { "code", …details } }] },
// and the one mapping from an error code to an HTTP status.
import type { ServerResponse } from 'node:http';
import type { WeftError } from '../errors.ts';

const STATUS_OF_CODE: Record<string, number> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  QUOTA_EXCEEDED: 413,
  RANGE_NOT_SATISFIABLE: 416,
  VALIDATION_FAILED: 422,
  RATE_LIMITED: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

export function statusOfCode(code: string): number {
  return STATUS_OF_CODE[code] ?? 400;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)));
}

/** An error answer; the status is the code's unless given. */
export function sendError(
  res: ServerResponse,
  code: string,
  message: string,
  options: { status?: number; details?: Record<string, unknown>; headers?: Record<string, string> } = {},
) {
  sendJson(
    res,
    options.status ?? statusOfCode(code),
    { errors: [{ message, extensions: { code, ...options.details } }] },
    options.headers,
  );
}

/** A WeftError as a REST answer (its own HTTP status and headers when it carries them). */
export function sendWeftError(res: ServerResponse, error: WeftError) {
  const { http, ...details } = error.extensions as {
    http?: { status?: number; headers?: Record<string, string> };
    code: string;
  };
  sendJson(
    res,
    http?.status ?? statusOfCode(error.code),
    { errors: [{ message: error.message, extensions: details }] },
    http?.headers,
  );
}
