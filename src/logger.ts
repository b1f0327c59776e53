import { pino, type DestinationStream, type Logger } from 'pino';
import { logMixin } from './observability/scope.ts';

export type { Logger };

/**
 * JSON logs on stdout (or `destination`); one line per event, `req` carries the request id where
 * there is one. Lines written while handling a run or step carry runId, stepId, attempt,
 * workflowId, workspaceId and traceId, and those of a GraphQL operation its operationName
 * (src/observability/scope.ts).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    mixin: logMixin,
    base: { service: 'weft' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.password', '*.secret'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
