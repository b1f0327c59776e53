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
import { verifyWebhookSignature } from '../engine/steps/webhook.ts';
import { ValidationError, WeftError } from '../errors.ts';
import { runWorkflow, type EngineHandle } from '../runs/service.ts';
import type { EventBus } from '../engine/events.ts';
import { idFromPathSegment } from '../schema/ids.ts';
import { INBOUND_SECRET_LABEL, openValue } from '../secrets/crypto.ts';

const ROUTE = /^\/hooks\/([^/?]+)$/;

export function matchInboundWebhook(method: string | undefined, path: string): string | null {
  if (method !== 'POST') return null;
  const match = ROUTE.exec(path);
  return match ? decodeURIComponent(match[1]!) : null;
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const error = (res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}) => send(res, status, { error: { code, message, ...extra } });


function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
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
  if (!workflow || workflow.triggerType !== 'WEBHOOK') return error(res, 404, 'NOT_FOUND', 'No webhook-triggered workflow at this address');
  const body = await readBody(req, deps.maxBodyBytes);
  if (body === null) return error(res, 413, 'PAYLOAD_TOO_LARGE', `Body larger than ${deps.maxBodyBytes} bytes`);

  const secret = workflow.inboundSecret ? openValue(deps.secretsKey, INBOUND_SECRET_LABEL, workflow.inboundSecret) : null;
  const header = (name: string) => (req.headers[name] as string | undefined) ?? '';
  const bearer = /^Bearer (.+)$/.exec(header('authorization'))?.[1] ?? header('x-weft-token');
  const signature = header('x-weft-signature');
  const authorized = !!secret && ((bearer && sameSecret(bearer, secret)) || (signature && verifyWebhookSignature(secret, header('x-weft-timestamp'), body, signature)));
  if (!authorized) return error(res, 401, 'UNAUTHENTICATED', 'Missing or invalid webhook credentials: send the workflow\'s secret as a Bearer token, or sign the body (X-Weft-Timestamp, X-Weft-Signature)');

  let input: unknown;
  try {
    input = body.trim() ? JSON.parse(body) : {};
  } catch {
    return error(res, 400, 'VALIDATION_FAILED', 'The body is not valid JSON');
  }
  const key = header('idempotency-key');
  try {
    const run = await runWorkflow(
      { prisma: deps.prisma, workspaceId: workflow.workspaceId, actor: { kind: 'system', id: null }, engine: deps.engine, bus: deps.bus },
      { workflowId: workflow.id, input, trigger: 'WEBHOOK', idempotencyKey: key ? `webhook:${workflow.id}:${key}` : null },
    );
    return send(res, 202, { runId: encodeGlobalID('Run', run.id), status: run.status });
  } catch (failure) {
    if (failure instanceof ValidationError) return error(res, 422, failure.code, failure.message, { problems: failure.problems });
    if (failure instanceof WeftError) return error(res, failure.code === 'NOT_FOUND' ? 404 : 409, failure.code, failure.message);
    throw failure;
  }
}
