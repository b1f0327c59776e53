// The monitor's frame: header (navigation, workspace, live connection, sign out) and the
// pages, each loaded on demand so the first screen needs little JavaScript.
import { lazy, Suspense, useEffect, useState, useSyncExternalStore } from 'react';
import { useQuery } from 'urql';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { ErrorBoundary } from '../ui/ErrorBoundary.tsx';
import { Problem } from '../ui/errors.tsx';
import type { LiveStatus } from '../live/connection.ts';
import { SignIn } from './SignIn.tsx';
import { SessionProvider, useSession, ViewerDocument } from './session-context.tsx';

const pages = {
  runs: () => import('../pages/RunsPage.tsx'),
  run: () => import('../pages/RunPage.tsx'),
  workflows: () => import('../pages/WorkflowsPage.tsx'),
  workflow: () => import('../pages/WorkflowPage.tsx'),
  diff: () => import('../pages/DiffPage.tsx'),
};
const RunsPage = lazy(pages.runs);
const RunPage = lazy(pages.run);
const WorkflowsPage = lazy(pages.workflows);
const WorkflowPage = lazy(pages.workflow);
const DiffPage = lazy(pages.diff);

// The code of the page the app opens on starts downloading now, while React starts, instead of
// when the router first renders it.
function preloadPage(path: string) {
  if (/^\/runs\/./.test(path)) void pages.run();
  else if (/^\/workflows\/[^/]+\/diff/.test(path)) void pages.diff();
  else if (/^\/workflows\/./.test(path)) void pages.workflow();
  else if (path.startsWith('/workflows')) void pages.workflows();
  else void pages.runs();
}
preloadPage(location.pathname);

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}

function Shell() {
  const { session } = useSession();
  const [location] = useLocation();
  if (!session) return <SignIn />;
  return (
    <>
      <Header />
      <main className="page">
        <ErrorBoundary key={location}>
          <Suspense fallback={<p className="loading">Loading…</p>}>
            <Switch>
              <Route path="/" component={() => <Redirect to="/runs" replace />} />
              <Route path="/runs" component={RunsPage} />
              <Route path="/runs/:id">{(params) => <RunPage id={decodeURIComponent(params.id)} />}</Route>
              <Route path="/workflows" component={WorkflowsPage} />
              <Route path="/workflows/:id/diff">{(params) => <DiffPage id={decodeURIComponent(params.id)} />}</Route>
              <Route path="/workflows/:id">{(params) => <WorkflowPage id={decodeURIComponent(params.id)} />}</Route>
              <Route>
                <Problem error={{ code: 'NOT_FOUND', message: '' }} what="page">
                  <Link href="/runs">Go to runs</Link>
                </Problem>
              </Route>
            </Switch>
          </Suspense>
        </ErrorBoundary>
      </main>
    </>
  );
}

function Header() {
  const { signOut, switchWorkspace, session } = useSession();
  const [{ data }] = useQuery({ query: ViewerDocument });
  const viewer = data?.viewer;
  const workspaces = viewer?.memberships.map((m) => m.workspace) ?? [];
  return (
    <header className="top">
      <Link href="/runs" className="brand">
        Weft
      </Link>
      <nav aria-label="Main">
        <Link href="/runs" className={(active) => (active ? 'active' : '')}>
          Runs
        </Link>
        <Link href="/workflows" className={(active) => (active ? 'active' : '')}>
          Workflows
        </Link>
        <a href="/graphql">GraphQL playground</a>
      </nav>
      <div className="spacer" />
      <LiveIndicator />
      {workspaces.length > 1 ? (
        <label className="workspace">
          Workspace{' '}
          <select
            aria-label="Workspace"
            value={session?.workspaceId ?? viewer?.workspace?.id ?? ''}
            onChange={(e) => switchWorkspace(e.target.value)}
          >
            {workspaces.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <span className="workspace" title="Workspace">
          {viewer?.workspace?.name ?? ''}
        </span>
      )}
      <span
        className="who"
        title={viewer?.kind === 'API_KEY' ? `API key ${viewer.apiKey?.prefix ?? ''}` : (viewer?.user?.email ?? '')}
      >
        {viewer?.user?.name ?? viewer?.user?.email ?? viewer?.apiKey?.name ?? ''}{' '}
        {viewer?.role ? <small>({viewer.role.toLowerCase()})</small> : null}
      </span>
      <button type="button" className="quiet" onClick={signOut}>
        Sign out
      </button>
    </header>
  );
}

const LIVE_TEXT: Record<LiveStatus, string> = {
  idle: 'Live',
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  refused: 'Live updates refused',
};

function LiveIndicator() {
  const { api } = useSession();
  const status = useSyncExternalStore(
    (listener) => api?.live.onStatus(listener) ?? (() => {}),
    () => api?.live.status() ?? 'idle',
  );
  // A short drop during a restart is normal; say so only once it lasts.
  const [shown, setShown] = useState(status);
  useEffect(() => {
    if (status !== 'reconnecting') return setShown(status);
    const timer = setTimeout(() => setShown(status), 500);
    return () => clearTimeout(timer);
  }, [status]);
  return (
    <span
      className={`live live-${shown}`}
      role="status"
      aria-live="polite"
      title={
        shown === 'reconnecting'
          ? 'The connection to Weft dropped; retrying. The page resumes where it left off.'
          : undefined
      }
    >
      {LIVE_TEXT[shown]}
    </span>
  );
}
