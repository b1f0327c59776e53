// Who is signed in, and the API client of that session. Signing in checks the credential with
// a `viewer` query before keeping it; switching workspace or signing out replaces the client
// (and with it the cache and the WebSocket), so nothing of one session leaks into the next.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Provider } from 'urql';
import { createApi, type Api } from '../api/client.ts';
import { graphql } from '../gql/gql.ts';
import { loadSession, saveSession, type Session } from '../session.ts';

export const ViewerDocument = graphql(`
  query Viewer {
    viewer {
      kind
      role
      permissions
      workspace { id name }
      memberships { role workspace { id name } }
      user { id name email subject }
      apiKey { id name prefix }
    }
  }
`);

interface SessionContextValue {
  session: Session | null;
  api: Api | null;
  /** Checks the credential; resolves with an error message when it is refused. */
  signIn(token: string): Promise<string | null>;
  signOut(): void;
  switchWorkspace(workspaceId: string): void;
}

const SessionContext = createContext<SessionContextValue>({
  session: null,
  api: null,
  signIn: async () => 'not ready',
  signOut: () => {},
  switchWorkspace: () => {},
});

export const useSession = () => useContext(SessionContext);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(loadSession);
  const api = useMemo(() => (session ? createApi(session) : null), [session]);
  useEffect(() => () => api?.dispose(), [api]);

  const change = useCallback((next: Session | null) => {
    saveSession(next);
    setSession(next);
  }, []);

  const signIn = useCallback(
    async (token: string) => {
      const candidate = createApi({ token, workspaceId: null });
      try {
        const result = await candidate.urql.query(ViewerDocument, {}, { requestPolicy: 'network-only' }).toPromise();
        if (result.error) {
          const code = result.error.graphQLErrors[0]?.extensions?.code;
          if (code === 'UNAUTHENTICATED')
            return 'This API key or token was not accepted: it is unknown, revoked or expired.';
          if (result.error.networkError) return `Weft did not answer at ${location.host}: is it running?`;
          return result.error.graphQLErrors[0]?.message ?? result.error.message;
        }
        change({ token, workspaceId: null });
        return null;
      } finally {
        candidate.dispose();
      }
    },
    [change],
  );

  const value = useMemo<SessionContextValue>(
    () => ({
      session,
      api,
      signIn,
      signOut: () => change(null),
      switchWorkspace: (workspaceId) => session && change({ ...session, workspaceId }),
    }),
    [session, api, signIn, change],
  );

  return (
    <SessionContext.Provider value={value}>
      {api ? <Provider value={api.urql}>{children}</Provider> : children}
    </SessionContext.Provider>
  );
}
