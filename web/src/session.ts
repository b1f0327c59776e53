// The signed-in credential, kept for the browser session (sessionStorage: it goes away when
// the tab closes, and other sites cannot read it). The monitor and the playground share it.
export interface Session {
  /** Sent as `Authorization: Bearer <token>`: an API key (weft_live_…) or a JWT. */
  token: string;
  /** Sent as X-Workspace-Id when set; null means the credential's default workspace. */
  workspaceId: string | null;
}

const KEY = 'weft.session';

export function loadSession(): Session | null {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Partial<Session> | null;
    if (!parsed || typeof parsed.token !== 'string' || !parsed.token) return null;
    return { token: parsed.token, workspaceId: typeof parsed.workspaceId === 'string' ? parsed.workspaceId : null };
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

/** The headers every request of this session carries (GraphQL over HTTP, SSE, and graphql-ws connectionParams). */
export function sessionHeaders(session: Session): Record<string, string> {
  return session.workspaceId
    ? { Authorization: `Bearer ${session.token}`, 'X-Workspace-Id': session.workspaceId }
    : { Authorization: `Bearer ${session.token}` };
}
