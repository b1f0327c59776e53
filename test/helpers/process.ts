// Runs `src/main.ts` as a real child process and waits (bounded) for it to listen.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { graphql } from '../generated/gql.ts';
import type { CreateWorkflowInput } from '../generated/graphql.ts';
import { onPostgres } from './app.ts';
import { createTestDatabase } from './pg.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** Child processes get this admin key (WEFT_ADMIN_API_KEY) unless a test passes '' to test the first-start key. */
export const PROCESS_ADMIN_KEY = `weft_live_${randomBytes(32).toString('base64url')}`;

export interface WeftProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Sends a signal and resolves with the exit code (bounded wait; SIGKILL after the timeout). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export interface StartOptions {
  /** Command-line arguments after src/main.ts, e.g. ['worker'] for the role. */
  args?: string[];
  timeoutMs?: number;
}

/** Every child Weft process of the tests is started here (with PROCESS_ADMIN_KEY as WEFT_ADMIN_API_KEY). */
export async function startWeftProcess(
  env: Record<string, string>,
  options: StartOptions | number = {},
): Promise<WeftProcess> {
  const { args = [], timeoutMs = 45_000 } = typeof options === 'number' ? { timeoutMs: options } : options;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: withoutEmpty({
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      WEFT_OUTBOUND_ALLOW: 'loopback',
      WEFT_ADMIN_API_KEY: PROCESS_ADMIN_KEY,
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // nobody can stop a process whose start failed: do not leave it running
      reject(new Error(`Weft did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = () => {
      const match = output.match(/"url":"(http:\/\/[^"]+)"/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Weft exited with ${code} before listening:\n${output}`));
    });
  });

  return {
    child,
    url,
    output: () => output,
    async stop(signal = 'SIGTERM', stopTimeoutMs = 20_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

function withoutEmpty(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
}

/**
 * Every GraphQL call the tests make to a child process goes through here: as PROCESS_ADMIN_KEY
 * unless another key is given. With a typed graphql() document the result is typed.
 */
export async function postGraphQL<T, V extends Record<string, unknown>>(
  url: string,
  document: TypedDocumentNode<T, V>,
  variables?: V,
  apiKey?: string,
): Promise<{ data?: T | null; errors?: GraphQLFormattedError[] }>;
export async function postGraphQL(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  apiKey?: string,
): Promise<{ data?: unknown; errors?: GraphQLFormattedError[] }>;
export async function postGraphQL(
  url: string,
  document: string | DocumentNode,
  variables?: Record<string, unknown>,
  apiKey = PROCESS_ADMIN_KEY,
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query: typeof document === 'string' ? document : print(document), variables }),
    signal: AbortSignal.timeout(10_000),
  });
  return (await res.json()) as { data?: unknown; errors?: GraphQLFormattedError[] };
}

const CreateWorkflowAt = graphql(`
  mutation ProcessCreateWorkflow($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) {
      __typename
      ... on CreateWorkflowPayload {
        workflow {
          id
        }
      }
      ... on Error {
        code
        message
      }
      ... on ValidationError {
        problems {
          path
          message
        }
      }
    }
  }
`);

/** Creates a workflow on a child process; returns its global id, or throws with the whole response. */
export async function createWorkflowAt(
  url: string,
  input: CreateWorkflowInput,
  apiKey = PROCESS_ADMIN_KEY,
): Promise<string> {
  const res = await postGraphQL(url, CreateWorkflowAt, { input }, apiKey);
  const result = res.data?.createWorkflow;
  if (result?.__typename !== 'CreateWorkflowPayload') throw new Error(`createWorkflow failed: ${JSON.stringify(res)}`);
  return result.workflow.id;
}

const StartRunAt = graphql(`
  mutation ProcessRunWorkflow($input: RunWorkflowInput!) {
    runWorkflow(input: $input) {
      __typename
      ... on RunPayload {
        run {
          id
        }
      }
      ... on Error {
        code
        message
      }
    }
  }
`);

/** Starts a run on a child process; returns the run's global id, or throws with the whole response. */
export async function startRunAt(
  url: string,
  workflowId: string,
  input: unknown = {},
  apiKey = PROCESS_ADMIN_KEY,
): Promise<string> {
  const res = await postGraphQL(url, StartRunAt, { input: { workflowId, input } }, apiKey);
  const result = res.data?.runWorkflow;
  if (result?.__typename !== 'RunPayload') throw new Error(`runWorkflow failed: ${JSON.stringify(res)}`);
  return result.run.id;
}

/** Environment giving a child process its own empty database (PostgreSQL or an embedded data dir). */
export async function isolatedDatabaseEnv(cleanups: (() => unknown)[]): Promise<Record<string, string>> {
  if (onPostgres) {
    const created = await createTestDatabase(process.env.TEST_DATABASE_URL!, { fromTemplate: false });
    cleanups.push(created.drop);
    return { DATABASE_URL: created.url };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-process-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { WEFT_HOME: dir };
}

/** postGraphQL that throws on any GraphQL error and returns `data`. */
export async function processData<T, V extends Record<string, unknown>>(
  weft: { url: string },
  document: TypedDocumentNode<T, V>,
  variables?: V,
): Promise<T> {
  const res = await postGraphQL(weft.url, document, variables);
  if (res.errors?.length || !res.data) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}
