// Download endpoints (onepin's "Download Run" / "Download Run Node"):
//   GET /api/runs/<runId>/export                   the run with its steps and events, as JSON
//   GET /api/runs/<runId>/steps/<stepId>/output    one step's output, as JSON
// <runId> is the run's global ID (or its raw UUID). They answer for the caller's workspace
// only, exactly like the GraphQL API; sensitive inputs are redacted as everywhere else.
import type { ServerResponse } from 'node:http';
import type { PrismaClient } from '../db/client.ts';
import { redactInput } from '../engine/redact.ts';
import { TOP_LEVEL } from '../engine/statuses.ts';
import { idFromPathSegment, inWorkspace } from '../ids.ts';
import { decodePathSegment } from './request.ts';
import { sendError } from './respond.ts';

const ROUTE = /^\/api\/runs\/([^/]+)\/(export|steps\/([^/]+)\/output)$/;

/** The run (and step) an export address names; undefined: not this route; null: not decodable. */
export function matchExportRoute(path: string): { runRef: string; stepId: string | null } | null | undefined {
  const match = ROUTE.exec(path);
  if (!match) return undefined;
  const runRef = decodePathSegment(match[1]!);
  const stepId = match[3] === undefined ? null : decodePathSegment(match[3]);
  if (runRef === null || (match[3] !== undefined && stepId === null)) return null;
  return { runRef, stepId };
}

function send(res: ServerResponse, status: number, body: unknown, filename?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (filename) headers['content-disposition'] = `attachment; filename="${filename}"`;
  res.writeHead(status, headers);
  res.end(JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
}

const notFound = (res: ServerResponse, what: string) => sendError(res, 'NOT_FOUND', `${what} was not found`);

export async function handleExport(
  res: ServerResponse,
  route: { runRef: string; stepId: string | null },
  scope: { prisma: PrismaClient; workspaceId: string },
) {
  const runId = idFromPathSegment(route.runRef, 'Run');
  const run = runId ? await scope.prisma.run.findFirst({ where: inWorkspace(runId, scope) }) : null;
  if (!run) return notFound(res, `Run ${JSON.stringify(route.runRef)}`);
  const inputSchema = (run.definition as { inputSchema?: unknown }).inputSchema;

  if (route.stepId !== null) {
    const step = await scope.prisma.stepRun.findFirst({
      where: { runId: run.id, stepId: route.stepId, iteration: TOP_LEVEL },
    });
    if (!step) return notFound(res, `Step ${JSON.stringify(route.stepId)} of this run`);
    return send(
      res,
      200,
      { runId: route.runRef, stepId: step.stepId, status: step.status, output: step.output },
      `run-${run.id}-${step.stepId}.json`,
    );
  }
  const [steps, events] = await Promise.all([
    scope.prisma.stepRun.findMany({ where: { runId: run.id }, orderBy: [{ iteration: 'asc' }, { createdAt: 'asc' }] }),
    scope.prisma.runEvent.findMany({ where: { runId: run.id }, orderBy: { seq: 'asc' } }),
  ]);
  return send(
    res,
    200,
    {
      run: { ...run, input: redactInput(inputSchema, run.input) },
      steps: steps.map(({ workspaceId: _w, leaseOwner: _l, leaseExpiresAt: _e, ...s }) => s),
      events: events.map(({ workspaceId: _w, ...e }) => e),
    },
    `run-${run.id}.json`,
  );
}
