// Fails a test file that leaves servers, sockets or child processes behind (vitest setupFiles).
// It compares Node's active resources after the file's own afterAll hooks with those before its
// beforeAll hooks, with a short grace for sockets that are closing. The check is per file, not
// per test: most files start their app once in beforeAll and stop it in afterAll.
import { afterAll, beforeAll } from 'vitest';
import { until } from './wait.ts';

/** Resource kinds a test owns and must close: listening servers, sockets, child processes. */
const WATCHED = new Set(['TCPServerWrap', 'TCPSocketWrap', 'PipeServerWrap', 'ProcessWrap', 'TTYWrap', 'UDPWrap']);
// fetch() keeps a client socket alive for up to 4 s after its last response (undici's default)
// unless the server closes it first; on a loaded machine a closing server can take a few seconds.
const GRACE_MS = 10_000;

function counts(): Map<string, number> {
  const byKind = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo())
    if (WATCHED.has(kind)) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  return byKind;
}

function leaked(before: Map<string, number>): string[] {
  return [...counts()]
    .filter(([kind, n]) => n > (before.get(kind) ?? 0))
    .map(([kind, n]) => `${n - (before.get(kind) ?? 0)} × ${kind}`);
}

let before = new Map<string, number>();
// Registered first, so vitest runs it before the file's beforeAll and after the file's afterAll.
beforeAll(() => {
  before = counts();
});
afterAll(async () => {
  let left: string[] = [];
  await until(
    () => `the file's servers, sockets and processes to close (still open: ${left.join(', ')})`,
    GRACE_MS,
    () => {
      left = leaked(before);
      return left.length === 0;
    },
  ).catch((error: Error) => {
    throw new Error(
      `${error.message}. Close what the tests start (app.close(), server.close(), process.stop()) in afterAll/afterEach.`,
    );
  });
});
