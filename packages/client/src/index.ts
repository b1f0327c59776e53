// @weft/client: a typed client for Weft's GraphQL API.
export {
  createClient,
  graphqlEndpoint,
  type ClientOptions,
  type Data,
  type RequestOptions,
  type WeftClient,
} from './client.ts';
export { WeftError, type ClientErrorCode, type Problem } from './errors.ts';
export {
  backoffMs,
  TERMINAL_EVENT_TYPES,
  type CaughtUp,
  type RetryInfo,
  type RetryOptions,
  type RunEvent,
  type RunSummary,
  type WatchRunOptions,
  type WatchRunsOptions,
} from './watch.ts';
