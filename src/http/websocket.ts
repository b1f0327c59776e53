// graphql-ws (the graphql-transport-ws protocol) on the HTTP server's /graphql path. Operations
// go through Yoga's envelop (yoga.getEnveloped), so they get the same schema, context and
// plugins as HTTP requests. Three guards keep one client from hurting the server:
// - a cap on concurrent subscriptions per connection (TOO_MANY_SUBSCRIPTIONS);
// - WebSocket pings every keepAliveMs; a peer that does not answer is dropped;
// - a slow consumer (more than maxBufferedBytes unsent) is disconnected with close code 4413
//   and a reason, instead of letting its backlog grow in server memory.
import type { Server } from 'node:http';
import {
  GraphQLError,
  type DocumentNode,
  type ExecutionArgs,
  type execute as graphqlExecute,
  type subscribe as graphqlSubscribe,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocket, WebSocketServer } from 'ws';
import type { Authenticate } from '../auth/principal.ts';
import { credentialsOf, type Context } from '../context.ts';
import type { Logger } from '../logger.ts';

/** graphql-ws runs the operation with the envelop's own execute/subscribe, carried in rootValue (yoga's recipe). */
type EnvelopedArgs = ExecutionArgs & {
  rootValue: { execute: typeof graphqlExecute; subscribe: typeof graphqlSubscribe };
};

export interface WebSocketOptions {
  /** Largest message accepted (WEFT_MAX_BODY_BYTES, as for HTTP bodies); a larger one closes the socket with 1009. */
  maxMessageBytes: number;
  maxSubscriptionsPerConnection: number;
  keepAliveMs: number;
  maxBufferedBytes: number;
}

export const SLOW_CONSUMER_CLOSE_CODE = 4413;

/** What the socket layer reports (src/observability/metrics.ts implements it). */
export interface WebSocketObserver {
  webSocketOpened(): void;
  webSocketClosed(): void;
  slowConsumerClosed(): void;
}

export function attachGraphQLWebSocket(
  server: Server,
  yoga: YogaServerInstance<Record<string, unknown>, Context>,
  options: WebSocketOptions,
  log: Logger,
  authenticate: Authenticate,
  observer?: WebSocketObserver,
) {
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: options.maxMessageBytes });
  const active = new WeakMap<object, Set<string>>();
  const alive = new WeakMap<WebSocket, boolean>();

  wsServer.on('connection', (socket) => {
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
    observer?.webSocketOpened();
    socket.once('close', () => observer?.webSocketClosed());
  });
  const pinger = setInterval(() => {
    for (const socket of wsServer.clients) {
      if (!alive.get(socket)) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, options.keepAliveMs);
  pinger.unref();

  const disposable = useServer(
    {
      // Credentials are checked when the connection opens (a refusal closes it with 4403
      // Forbidden) and again for every operation, so a revoked key stops new subscriptions.
      onConnect: async (ctx) => {
        try {
          await authenticate(credentialsOf({ connectionParams: ctx.connectionParams, req: ctx.extra.request }));
          return true;
        } catch (error) {
          log.debug({ err: error }, 'WebSocket connection refused');
          return false;
        }
      },
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args),
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args),
      onSubscribe: async (ctx, id, params) => {
        const ids = active.get(ctx) ?? new Set<string>();
        active.set(ctx, ids);
        if (ids.size >= options.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(
              `At most ${options.maxSubscriptionsPerConnection} operations may be active on one connection`,
              { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } },
            ),
          ];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        let document: DocumentNode;
        try {
          document = parse(params.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        ids.add(id);
        let contextValue: Awaited<ReturnType<typeof contextFactory>>;
        try {
          contextValue = await contextFactory();
        } catch (error) {
          ids.delete(id);
          return [
            error instanceof GraphQLError
              ? error
              : new GraphQLError('Could not authenticate this operation', { extensions: { code: 'UNAUTHENTICATED' } }),
          ];
        }
        return {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
      onNext: (ctx) => {
        const socket = ctx.extra.socket as WebSocket;
        if (socket.bufferedAmount > options.maxBufferedBytes && socket.readyState === WebSocket.OPEN) {
          log.warn({ buffered: socket.bufferedAmount }, 'closing a slow WebSocket consumer');
          observer?.slowConsumerClosed();
          socket.close(SLOW_CONSUMER_CLOSE_CODE, `Slow consumer: more than ${options.maxBufferedBytes} bytes unsent`);
        }
      },
      onComplete: (ctx, id) => void active.get(ctx)?.delete(id),
    },
    wsServer,
  );

  return {
    async dispose() {
      clearInterval(pinger);
      await disposable.dispose();
      wsServer.close();
    },
  };
}
