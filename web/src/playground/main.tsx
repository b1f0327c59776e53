// The GraphQL playground served at /graphql: GraphiQL bundled from npm (no CDN), with Monaco's
// workers built by Vite, and a fetcher that uses the Headers tab for subscriptions too.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './playground.css';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { loadSession, sessionHeaders } from '../session.ts';
import { createPlaygroundFetcher } from './fetcher.ts';
import { PLACEHOLDER_HEADERS, WELCOME_QUERY } from './welcome.ts';

const httpUrl = new URL('/graphql', location.href).toString();
const wsUrl = httpUrl.replace(/^http/, 'ws');
const session = loadSession();
const fetcher = createPlaygroundFetcher(httpUrl, wsUrl, session ? sessionHeaders(session) : {});
const headers = session ? JSON.stringify(sessionHeaders(session), null, 2) : PLACEHOLDER_HEADERS;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={WELCOME_QUERY}
      defaultHeaders={headers}
      initialHeaders={headers}
      defaultEditorToolsVisibility="headers"
      shouldPersistHeaders={false}
    />
  </StrictMode>,
);
