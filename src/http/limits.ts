// Request hardening: query depth, alias, token and cost limits (graphql-armor), optional
// introspection, and CSRF prevention for browsers (a "simple" cross-site request — a form post or
// a GET without a custom header — is refused; JSON POSTs and graphql-ws are unaffected).
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  introspection: boolean;
}

export const CSRF_HEADER = 'x-weft-csrf';

/** The CSRF plugin refuses without an extensions.code; every error we send has one. */
function withCode(plugin: Plugin, code: string): Plugin {
  const parse = plugin.onRequestParse!;
  return {
    ...plugin,
    onRequestParse(payload) {
      try {
        return parse(payload);
      } catch (error) {
        if (error instanceof GraphQLError) {
          throw new GraphQLError(
            `${error.message}: send the ${CSRF_HEADER} header (any value) with GET and form requests`,
            { extensions: { ...error.extensions, code } },
          );
        }
        throw error;
      }
    },
  };
}

export function hardeningPlugins(limits: QueryLimits): Plugin[] {
  const plugins: Plugin[] = [
    EnvelopArmorPlugin({
      maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, exposeLimits: true },
      // __typename aliases count too (graphql-armor exempts them by default): a flood is a flood.
      maxAliases: { n: limits.maxAliases, exposeLimits: true, allowList: [] },
      maxTokens: { n: limits.maxTokens, exposeLimits: true },
      costLimit: {
        maxCost: limits.maxCost,
        objectCost: 2,
        scalarCost: 1,
        depthCostFactor: 1.5,
        ignoreIntrospection: true,
        exposeLimits: true,
      },
      maxDirectives: { n: 50 },
      // Field suggestions ("Did you mean …?") help people exploring the API in GraphiQL; they
      // reveal nothing the (enabled-by-default) introspection does not.
      blockFieldSuggestion: { enabled: !limits.introspection },
    }) as Plugin,
    withCode(
      useCSRFPrevention({ requestHeaders: [CSRF_HEADER, 'x-graphql-yoga-csrf', 'apollo-require-preflight'] }),
      'CSRF_HEADER_REQUIRED',
    ),
  ];
  if (!limits.introspection) plugins.push(disableIntrospection());
  return plugins;
}

/**
 * Introspection refused for every operation. Yoga's own plugin decides per HTTP request (in
 * onRequestParse), which graphql-ws operations never go through: a validation rule added to
 * every validation holds on every transport.
 */
function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
