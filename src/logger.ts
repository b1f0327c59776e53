import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout; one line per event, `req` carries the request id where there is one. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'weft' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.password', '*.secret'], censor: '[redacted]' },
  });
}
