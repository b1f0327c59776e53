// Subscription events executed once per group, not once per subscriber.
//
// A subscription's source stream (src/events/stream.ts, feed.ts) stays per subscriber: each
// keeps its own cursor, gap-free replay, caught-up marker and slow-consumer limit, and each was
// parsed, validated and authorised on its own (src/http/websocket.ts, yoga for SSE). What is
// shared is the step after: turning a pushed value into an ExecutionResult. The live bus hands
// the SAME event object to every listener of a run, so subscribers whose operations are the
// same — same document, operation name and variables, in the same permission scope (workspace,
// role, permissions) — would compute the same result from it. The first one to reach an event
// executes it; the others take its result from a WeakMap keyed by the event object, so the
// cache lives exactly as long as some subscriber still holds that event and needs no eviction.
// A replayed event is read from the database by each subscriber (a distinct object), so replays
// are executed per subscriber, as before; only the live part, where fan-out costs, is shared.
//
// This plugin replaces useExtendContextValuePerExecuteSubscriptionEvent: every execution still
// gets a context object of its own (a shallow copy), so the batching loaders the Pothos plugins
// keep per context never serve one push what they cached for an earlier one.
import { createSourceEventStream, execute, print, type DocumentNode, type ExecutionArgs } from 'graphql';
import { isAsyncIterable, makeSubscribe, mapAsyncIterator, type Plugin } from '@envelop/core';
import type { Principal } from '../auth/principal.ts';

export interface FanoutObserver {
  /** An event was executed (`shared` false) or a group member took the result of an execution (`shared` true). */
  subscriptionEventExecuted(shared: boolean): void;
}

/** Executions and shared results since the process started (also in /metrics); tests read deltas. */
export const fanoutStats = { executions: 0, shared: 0 };

const printed = new WeakMap<DocumentNode, string>();

function documentText(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

/**
 * What a result may depend on besides the pushed value: the operation, its variables and the
 * caller's permission scope. null (never shared) when the context carries no principal.
 */
export function groupKey(args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues' | 'contextValue'>) {
  const ctx = args.contextValue as { workspaceId?: string; principal?: Principal } | null;
  const principal = ctx?.principal;
  if (!principal || typeof ctx.workspaceId !== 'string') return null;
  const scope = `${ctx.workspaceId}\u0000${principal.role ?? ''}\u0000${[...principal.permissions].sort().join(',')}`;
  return `${scope}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${documentText(args.document)}`;
}

type Result = ReturnType<typeof execute>;

export function subscriptionFanoutPlugin(observer?: FanoutObserver): Plugin {
  // Event object → group key → its result (a promise while it executes, so concurrent members wait for one execution).
  const results = new WeakMap<object, Map<string, Result>>();

  const executeOwn = (args: ExecutionArgs): Result => {
    fanoutStats.executions++;
    observer?.subscriptionEventExecuted(false);
    return execute({ ...args, contextValue: { ...(args.contextValue as object) } });
  };

  const executeEvent = (args: ExecutionArgs, key: string | null): Result => {
    const payload = args.rootValue;
    if (key === null || typeof payload !== 'object' || payload === null) return executeOwn(args);
    let byGroup = results.get(payload);
    if (!byGroup) {
      byGroup = new Map();
      results.set(payload, byGroup);
    }
    const cached = byGroup.get(key);
    if (cached !== undefined) {
      fanoutStats.shared++;
      observer?.subscriptionEventExecuted(true);
      return cached;
    }
    const result = executeOwn(args);
    byGroup.set(key, result);
    return result;
  };

  const subscribe = makeSubscribe((args: ExecutionArgs) => {
    const key = groupKey(args);
    const { schema, document, contextValue, variableValues, operationName, fieldResolver } = args;
    const source = createSourceEventStream(
      schema,
      document,
      args.rootValue,
      contextValue,
      variableValues ?? undefined,
      operationName,
      args.subscribeFieldResolver,
    );
    const map = (stream: Awaited<typeof source>) =>
      isAsyncIterable(stream)
        ? mapAsyncIterator(stream, (payload: unknown) =>
            executeEvent(
              { schema, document, rootValue: payload, contextValue, variableValues, operationName, fieldResolver },
              key,
            ),
          )
        : stream;
    return source instanceof Promise ? source.then(map) : map(source);
  });

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe);
    },
  };
}
