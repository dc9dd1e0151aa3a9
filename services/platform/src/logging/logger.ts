import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerSettings {
  service: string;
  version: string;
  level: string;
  /** Where JSON lines go; stdout by default (tests pass a stream to read them). */
  destination?: DestinationStream;
}

/**
 * Paths whose values never reach a log line: credentials in headers and in any object logged
 * at the top level or one level down (pino's redact paths take one wildcard segment).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'password',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
];

/**
 * A pino logger writing one JSON object per line, stamped with the service and version, the
 * level as a word, and the trace_id / span_id of the active span so a log line leads to its
 * trace.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.service, version: settings.version },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    mixin: () => {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
