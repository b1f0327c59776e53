// POST /hooks/signals/<token>: releases the one waiting `wait` step the token belongs to, with the
// JSON body as the event's payload. The token is the credential (unguessable, derived from the
// server's secrets key, stored only as a hash, scoped to one step of one run, single use): the
// run can put the URL in an e-mail (`steps.<id>.signal.url`). Answers with the one REST error body:
// 404 for an unknown or used token, 409 when the step is not waiting, 400/413/422 for the body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { PrismaClient } from '../db/client.ts';
import { WAIT_TOKEN_ROUTE } from '../engine/signals.ts';
import { ValidationError } from '../errors.ts';
import { deliverByToken } from '../runs/signals.ts';
import type { EngineHandle } from '../scope.ts';
import { jsonInputProblems } from './input-guard.ts';
import { decodePathSegment, readBody } from './request.ts';
import { sendError, sendJson, sendWeftError } from './respond.ts';

const ROUTE = new RegExp(`^${WAIT_TOKEN_ROUTE}([^/?]+)$`);

/** The request target as it may be logged: a wait token is a credential, so it is never written down. */
export function loggableUrl(url: string | undefined): string | undefined {
  return url?.startsWith(WAIT_TOKEN_ROUTE) ? `${WAIT_TOKEN_ROUTE}[redacted]` : url;
}

/** The token of a wait-token address; undefined: not this route; null: not decodable. */
export function matchWaitTokenRoute(path: string): string | null | undefined {
  const match = ROUTE.exec(path);
  return match ? decodePathSegment(match[1]!) : undefined;
}

export interface WaitTokenDeps {
  prisma: PrismaClient;
  engine: EngineHandle;
  maxBodyBytes: number;
}

export async function handleWaitToken(
  req: IncomingMessage,
  res: ServerResponse,
  token: string | null,
  deps: WaitTokenDeps,
) {
  if (req.method !== 'POST')
    return sendError(
      res,
      'METHOD_NOT_ALLOWED',
      'Send the event with POST (a GET, as e-mail scanners make, never releases a step)',
      { headers: { allow: 'POST' } },
    );
  if (!token || !/^[A-Za-z0-9_-]{20,100}$/.test(token))
    return sendError(res, 'NOT_FOUND', 'Unknown or already used wait token');
  const raw = await readBody(req, deps.maxBodyBytes);
  if (raw === null)
    return sendError(res, 'PAYLOAD_TOO_LARGE', `Body larger than ${deps.maxBodyBytes} bytes`, {
      headers: { connection: 'close' },
    });
  let payload: unknown;
  try {
    const body = raw.toString('utf8');
    payload = body.trim() ? JSON.parse(body) : null;
  } catch {
    return sendError(res, 'BAD_REQUEST', 'The body is not valid JSON');
  }
  const problems = jsonInputProblems(payload, ['body']);
  if (problems.length) return sendWeftError(res, new ValidationError(problems));
  const delivered = await deliverByToken(deps.prisma, deps.engine, token, payload);
  if (!delivered.ok) return sendError(res, delivered.code, delivered.message);
  return sendJson(res, 200, {
    runId: encodeGlobalID('Run', delivered.runId),
    stepId: delivered.stepId,
    status: 'DELIVERED',
  });
}
