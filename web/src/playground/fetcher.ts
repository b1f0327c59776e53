// GraphiQL's fetcher: queries and mutations over HTTP (GraphiQL's own toolkit), subscriptions
// over graphql-ws with the Headers tab as connectionParams. GraphiQL's stock WebSocket fetcher
// sends an empty connection_init (so Weft refuses the socket with 4403) and retries forever;
// here each distinct set of headers gets its own client that never retries, and a refused or
// lost connection ends the subscription with an error the result pane shows.
import { createGraphiQLFetcher, type Fetcher, type FetcherParams, type FetcherOpts } from '@graphiql/toolkit';
import { getOperationAST, type ExecutionResult } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';

/** `defaultHeaders` go with every HTTP request (the Headers tab's values win): GraphiQL loads the schema before its Headers tab exists. */
export function createPlaygroundFetcher(
  httpUrl: string,
  wsUrl: string,
  defaultHeaders: Record<string, string> = {},
): Fetcher {
  const http = createGraphiQLFetcher({ url: httpUrl, headers: defaultHeaders });
  const clients = new Map<string, Client>();

  function clientFor(headers: Record<string, unknown>): Client {
    const key = JSON.stringify(Object.entries(headers).sort(([a], [b]) => a.localeCompare(b)));
    let client = clients.get(key);
    if (!client) {
      client = createClient({
        url: wsUrl,
        connectionParams: { ...headers },
        retryAttempts: 0,
        lazy: true,
        lazyCloseTimeout: 3_000,
      });
      clients.set(key, client);
    }
    return client;
  }

  return (params: FetcherParams, opts?: FetcherOpts) => {
    const subscription = opts?.documentAST
      ? getOperationAST(opts.documentAST, params.operationName)?.operation === 'subscription'
      : false;
    if (!subscription) return http(params, opts);
    // Results off the wire carry plain (formatted) errors; GraphiQL's type says GraphQLError, but it only prints them.
    return subscribe(clientFor(opts?.headers ?? {}), params, wsUrl) as AsyncIterable<ExecutionResult>;
  };
}

async function* subscribe(
  client: Client,
  params: FetcherParams,
  wsUrl: string,
): AsyncGenerator<FormattedExecutionResult> {
  try {
    yield* client.iterate({
      query: params.query,
      operationName: params.operationName ?? undefined,
      variables: params.variables ?? undefined,
    });
  } catch (error) {
    yield { errors: describeFailure(error, wsUrl) };
  }
}

interface ShownError {
  message: string;
  extensions: Record<string, unknown>;
}

/** What graphql-ws throws — an error payload, a CloseEvent, or a connection failure — as GraphQL errors. */
export function describeFailure(error: unknown, wsUrl: string): ShownError[] {
  if (Array.isArray(error)) return error as ShownError[];
  if (isCloseEvent(error)) {
    if (error.code === 4403) {
      return [
        {
          message:
            'The server refused the WebSocket connection (4403 Forbidden): the credentials are missing or not accepted. Put {"Authorization": "Bearer <your API key>"} in the Headers tab, then run the subscription again.',
          extensions: { code: 'FORBIDDEN', closeCode: error.code, reason: error.reason },
        },
      ];
    }
    return [
      {
        message: `The WebSocket connection closed (${error.code}${error.reason ? `: ${error.reason}` : ''}). Run the subscription again to reconnect.`,
        extensions: { code: 'WEBSOCKET_CLOSED', closeCode: error.code, reason: error.reason },
      },
    ];
  }
  if (error instanceof Error) return [{ message: error.message, extensions: { code: 'WEBSOCKET_ERROR' } }];
  return [
    { message: `Could not connect to ${wsUrl}: is the Weft server running?`, extensions: { code: 'NETWORK_ERROR' } },
  ];
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'code' in value &&
    'reason' in value &&
    typeof (value as { code: unknown }).code === 'number'
  );
}
