// POST /hooks/<workflowId>: starts a run of a workflow whose trigger type is WEBHOOK, with the
// JSON body as its input. The caller proves it knows the workflow's inbound secret, either
//   - by sending it: `Authorization: Bearer <secret>` (or `X-Weft-Token: <secret>`), or
//   - by signing the body: `X-Weft-Timestamp: <unix seconds>` and
//     `X-Weft-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, within 5 minutes.
// Anything else gets 401 and starts nothing. Secrets are created and rotated with the
// rotateWebhookSecret mutation. An Idempotency-Key header makes retries return the first run.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { PrismaClient } from '../db/client.ts';
import { verifyWebhookSignature } from '../webhooks/signing.ts';
import { ValidationError, WeftError } from '../errors.ts';
import { runWorkflow } from '../runs/service.ts';
import { SYSTEM_ACTOR, type EngineHandle } from '../scope.ts';
import type { EventBus } from '../events/log.ts';
import { idFromPathSegment } from '../ids.ts';
import { INBOUND_SECRET_LABEL, openValue } from '../secrets/crypto.ts';
import { jsonInputProblems } from './input-guard.ts';
import { decodePathSegment, readBody } from './request.ts';
import { sendError, sendJson, sendWeftError } from './respond.ts';

const ROUTE = /^\/hooks\/([^/?]+)$/;

/** The workflow reference of a webhook address; undefined: not this route; null: not decodable. */
export function matchInboundWebhook(method: string | undefined, path: string): string | null | undefined {
  if (method !== 'POST') return undefined;
  const match = ROUTE.exec(path);
  return match ? decodePathSegment(match[1]!) : undefined;
}

function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface InboundDeps {
  prisma: PrismaClient;
  engine: EngineHandle;
  bus: EventBus;
  maxBodyBytes: number;
  secretsKey: Buffer | null;
}

export async function handleInboundWebhook(req: IncomingMessage, res: ServerResponse, ref: string, deps: InboundDeps) {
  const id = idFromPathSegment(ref, 'Workflow');
  const workflow = id ? await deps.prisma.workflow.findUnique({ where: { id } }) : null;
  if (workflow?.triggerType !== 'WEBHOOK')
    return sendError(res, 'NOT_FOUND', 'No webhook-triggered workflow at this address');
  const raw = await readBody(req, deps.maxBodyBytes);
  if (raw === null)
    return sendError(res, 'PAYLOAD_TOO_LARGE', `Body larger than ${deps.maxBodyBytes} bytes`, {
      headers: { connection: 'close' },
    });
  const body = raw.toString('utf8');

  const secret = workflow.inboundSecret
    ? openValue(deps.secretsKey, INBOUND_SECRET_LABEL, workflow.inboundSecret)
    : null;
  const header = (name: string) => (req.headers[name] as string | undefined) ?? '';
  const bearer = /^Bearer (.+)$/.exec(header('authorization'))?.[1] ?? header('x-weft-token');
  const signature = header('x-weft-signature');
  const authorized =
    !!secret &&
    ((bearer && sameSecret(bearer, secret)) ||
      (signature && verifyWebhookSignature(secret, header('x-weft-timestamp'), body, signature)));
  if (!authorized)
    return sendError(
      res,
      'UNAUTHENTICATED',
      "Missing or invalid webhook credentials: send the workflow's secret as a Bearer token, or sign the body (X-Weft-Timestamp, X-Weft-Signature)",
    );

  let input: unknown;
  try {
    input = body.trim() ? JSON.parse(body) : {};
  } catch {
    return sendError(res, 'BAD_REQUEST', 'The body is not valid JSON');
  }
  const problems = jsonInputProblems(input, ['body']);
  if (problems.length) return sendWeftError(res, new ValidationError(problems));
  const key = header('idempotency-key');
  try {
    const run = await runWorkflow(
      {
        prisma: deps.prisma,
        workspaceId: workflow.workspaceId,
        actor: SYSTEM_ACTOR,
        engine: deps.engine,
        bus: deps.bus,
        secretsKey: deps.secretsKey,
      },
      {
        workflowId: workflow.id,
        input,
        trigger: 'WEBHOOK',
        idempotencyKey: key ? `webhook:${workflow.id}:${key}` : null,
      },
    );
    return sendJson(res, 202, { runId: encodeGlobalID('Run', run.id), status: run.status });
  } catch (failure) {
    if (failure instanceof WeftError) return sendWeftError(res, failure);
    throw failure;
  }
}
