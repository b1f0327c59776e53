// Shared by the commands: the client for the logged-in server, and looking workflows up by
// name or id.
import { readFileSync } from 'node:fs';
import { createClient, WeftError, type Data, type WeftClient } from '@weft/client';
import type { WeftCliWorkflowsQuery } from './gql/graphql.ts';
import { loadConfig } from './config.ts';
import { WorkflowsDocument } from './operations.ts';

export function connect(): WeftClient {
  const { server, apiKey } = loadConfig();
  return createClient({ url: server, apiKey });
}

/** A Relay global ID of `type` ("Workflow:<uuid>" in base64), as opposed to a name. */
export function isGlobalId(value: string, type: string): boolean {
  if (!/^[A-Za-z0-9+/]+=*$/.test(value)) return false;
  return Buffer.from(value, 'base64').toString('utf8').startsWith(`${type}:`);
}

/** The workflow whose id or exact name is `ref` (a name must match exactly one workflow). */
export async function findWorkflowId(client: WeftClient, ref: string): Promise<string> {
  if (isGlobalId(ref, 'Workflow')) return ref;
  const match = await findWorkflowByName(client, ref);
  if (!match)
    throw new WeftError(
      'NOT_FOUND',
      `No workflow is named "${ref}" (give its exact name or its id; \`weft workflows list\` shows both)`,
    );
  return match.id;
}

export async function findWorkflowByName(client: WeftClient, name: string) {
  // The search is a substring match: page through every hit (many workflows may contain a
  // short name) and keep the exact ones.
  const matches = [];
  let after: string | null = null;
  do {
    const data: Data<WeftCliWorkflowsQuery> = await client.request(WorkflowsDocument, {
      first: 200,
      after,
      filter: { search: name.trim() },
    });
    matches.push(...data.workflows.edges.map((edge) => edge.node).filter((node) => node.name === name.trim()));
    after = data.workflows.pageInfo.hasNextPage ? (data.workflows.pageInfo.endCursor ?? null) : null;
  } while (after);
  if (matches.length > 1)
    throw new WeftError(
      'CONFLICT',
      `${matches.length} workflows are named "${name}": use the id instead (${matches.map((m) => m.id).join(', ')})`,
    );
  return matches[0] ?? null;
}

/** --input: JSON text, `@file` for a JSON file, or `@-` for standard input. */
export function parseJsonArgument(value: string, option: string): unknown {
  let text = value;
  if (value.startsWith('@')) {
    const file = value.slice(1);
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (error) {
      throw new WeftError('BAD_USER_INPUT', `${option}: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WeftError('BAD_USER_INPUT', `${option} is not valid JSON: ${(error as Error).message}`);
  }
}
