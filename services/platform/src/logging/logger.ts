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
 * at the top level or one level down (`*` stands for any key, and only as the first segment).
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

/** What replaces a redacted value. */
const CENSOR = '[REDACTED]';

/** The redacted paths as a tree: a key leads to the paths below it, or to `null` (censor). */
type PathTree = Map<string, PathTree | null>;

/** `a.b["c-d"]` → `['a', 'b', 'c-d']`. */
function segments(path: string): string[] {
  return [...path.matchAll(/([^.[\]"]+)|\["([^"]+)"\]/g)].map((m) => m[1] ?? m[2] ?? '');
}

function addPath(tree: PathTree, parts: readonly string[]): void {
  const [head, ...rest] = parts;
  if (head === undefined) return;
  if (rest.length === 0) {
    tree.set(head, null);
    return;
  }
  let child = tree.get(head);
  if (child === null) return; // the whole value is censored already
  if (child === undefined) tree.set(head, (child = new Map()));
  addPath(child, rest);
}

/** Builds the tree; a named first key also gets the `*` paths, as it matches `*` too. */
function pathTree(paths: readonly string[]): PathTree {
  const tree: PathTree = new Map();
  const wildcard = paths.filter((p) => p.startsWith('*.')).map(segments);
  for (const parts of paths.map(segments)) {
    addPath(tree, parts);
    const child = parts[0] !== '*' ? tree.get(parts[0] ?? '') : undefined;
    if (child) for (const w of wildcard) addPath(child, w.slice(1));
  }
  return tree;
}

/** A copy of an Error that is still one (same prototype, message, stack and own fields). */
function cloneError(error: Error): Record<string, unknown> {
  const clone = Object.defineProperties(
    Object.create(Object.getPrototypeOf(error) as object) as Record<string, unknown>,
    Object.getOwnPropertyDescriptors(error),
  );
  // V8's `stack` is an accessor that reads only on the error it was captured for.
  Object.defineProperty(clone, 'stack', { value: error.stack, writable: true, configurable: true });
  return clone;
}

/**
 * Returns `value` with the tree's paths censored, copying only the objects on a censored path
 * so the caller's objects stay untouched.
 */
function redactWith(tree: PathTree, value: Record<string, unknown>): Record<string, unknown> {
  const wildcard = tree.get('*');
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const rule = tree.has(key) ? tree.get(key) : wildcard;
    if (rule === undefined) continue;
    const current = value[key];
    let next: unknown;
    if (rule === null) {
      if (current === undefined) continue;
      next = CENSOR;
    } else if (typeof current === 'object' && current !== null && !Array.isArray(current)) {
      next = redactWith(rule, current as Record<string, unknown>);
    } else {
      continue;
    }
    if (next === current) continue;
    // A spread would turn an Error into a plain object without its message and stack.
    copy ??= value instanceof Error ? cloneError(value) : { ...value };
    copy[key] = next;
  }
  return copy ?? value;
}

/**
 * A redactor of `paths` for pino's `formatters.log`. pino's own `redact` option passes every
 * value of every line through its redactor once a path starts with `*` (the access line's
 * numbers and strings too, a tenth of a cached read's CPU); this one only looks at the keys
 * the paths name.
 */
export function redactor(
  paths: readonly string[],
): (value: Record<string, unknown>) => Record<string, unknown> {
  const tree = pathTree(paths);
  return (value) => redactWith(tree, value);
}

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
    formatters: {
      level: (label) => ({ level: label }),
      // Each line's object (the mixin's fields included) against every path.
      log: redactor(REDACTED_PATHS),
    },
    // pino's own redaction stays for child bindings (`logger.child({ token })`), which
    // formatters.log never sees; without `*` paths it costs nothing on other keys.
    redact: { paths: REDACTED_PATHS.filter((p) => !p.startsWith('*')), censor: CENSOR },
    mixin: () => {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
