// Every failure the monitor can meet, said in words with what to do about it. Pages never go
// blank: they render <Problem> instead of their content.
import type { CombinedError } from '@urql/core';
import type { ReactNode } from 'react';
import { useSession } from '../app/session-context.tsx';

export interface Explained {
  code: string;
  title: string;
  advice: string;
}

/** The stable extensions.code of the first GraphQL error, or NETWORK_ERROR. */
export function errorCode(error: CombinedError | null | undefined): string | null {
  if (!error) return null;
  const code = error.graphQLErrors.find((e) => typeof e.extensions?.code === 'string')?.extensions?.code;
  if (typeof code === 'string') return code;
  return error.networkError ? 'NETWORK_ERROR' : 'UNKNOWN';
}

export function explain(error: CombinedError | { code: string; message: string }, what = 'this'): Explained {
  const code = 'code' in error ? error.code : (errorCode(error) ?? 'UNKNOWN');
  const message =
    'code' in error ? error.message : (error.graphQLErrors[0]?.message ?? error.networkError?.message ?? error.message);
  switch (code) {
    case 'NETWORK_ERROR':
      return {
        code,
        title: 'Weft cannot be reached',
        advice: `The server at ${location.host} did not answer. Check that Weft is running and that your network is up, then retry.`,
      };
    case 'UNAUTHENTICATED':
      return {
        code,
        title: 'Your credential was not accepted',
        advice: 'The API key or token is unknown, revoked or expired. Sign in again with a valid one.',
      };
    case 'FORBIDDEN':
      return {
        code,
        title: 'Not allowed',
        advice: `Your role in this workspace does not allow ${what}. Ask a workspace admin for a role that does, or switch to another workspace. (${message})`,
      };
    case 'NOT_FOUND':
      return {
        code,
        title: 'Not found',
        advice: `There is no ${what} with this id in this workspace. It may have been deleted, or belong to another workspace: check the link, or switch workspace.`,
      };
    case 'RATE_LIMITED':
      return {
        code,
        title: 'Too many requests',
        advice: 'Weft limits how often one key may call it. Wait a few seconds, then retry.',
      };
    case 'VALIDATION_FAILED':
      return { code, title: 'Invalid input', advice: message };
    case 'CONFLICT':
      return { code, title: 'Not possible right now', advice: message };
    default:
      return {
        code,
        title: 'Something went wrong',
        advice: `${message} — retry, and if it keeps happening, check the server's log.`,
      };
  }
}

export function Problem({
  error,
  what,
  retry,
  children,
}: {
  error: CombinedError | { code: string; message: string };
  what?: string;
  retry?: () => void;
  children?: ReactNode;
}) {
  const { signOut } = useSession();
  const { code, title, advice } = explain(error, what);
  return (
    <div className="problem" role="alert" data-code={code}>
      <h2>{title}</h2>
      <p>{advice}</p>
      <div className="actions">
        {code === 'UNAUTHENTICATED' ? (
          <button type="button" onClick={signOut}>
            Sign in again
          </button>
        ) : retry ? (
          <button type="button" onClick={retry}>
            Retry
          </button>
        ) : null}
        {children}
      </div>
    </div>
  );
}
