import { z } from 'zod';
import { faultsVar } from '../faults/faults.js';

/** One environment variable that failed its schema. */
export interface ConfigIssue {
  variable: string;
  message: string;
}

/** The environment did not satisfy the service's schema; `issues` lists every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: ConfigIssue[]) {
    super(
      `invalid configuration (${String(issues.length)} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n'),
    );
  }
}

/** The environment as a plain map, e.g. `process.env` (read only by a service's config.ts). */
export type Environment = Readonly<Record<string, string | undefined>>;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Parses the environment with a service's schema once and returns a deeply frozen config.
 * Every offending variable is collected before failing, so one bad start lists them all.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Environment,
): Readonly<z.output<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      variable: issue.path.map(String).join('.') || '(environment)',
      message: issue.message,
    }));
    throw new ConfigError(issues);
  }
  return deepFreeze(parsed.data);
}

/**
 * What a start with `env` would say is wrong: each bad variable with its message, or `{}` when
 * `schema` takes it. For tests of a config's rules and for tools that check an environment.
 */
export function configIssues(schema: z.ZodType, env: Environment): Record<string, string> {
  try {
    loadConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return Object.fromEntries(error.issues.map((issue) => [issue.variable, issue.message]));
  }
  return {};
}

/** sysexits' EX_CONFIG: the conventional exit status for a configuration error. */
export const EXIT_CONFIG = 78;

/**
 * loadConfig for a service's main: on a bad environment, writes one message naming every bad
 * variable to stderr and exits with {@link EXIT_CONFIG}, instead of a stack trace.
 */
export function loadConfigOrExit<S extends z.ZodType>(
  service: string,
  schema: S,
  env: Environment,
): Readonly<z.output<S>> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${service}: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Schemas for environment variable strings, with messages that say what was expected. */
export const envVar = {
  /** A TCP port, 0–65535 (0 asks the OS for a free one, which tests use). */
  port: () =>
    z
      .string()
      .regex(/^\d+$/, 'expected a port number')
      .transform(Number)
      .pipe(
        z.number().int().min(0, 'expected a port 0–65535').max(65535, 'expected a port 0–65535'),
      ),
  /** A whole number within bounds, e.g. a timeout in ms. */
  int: (min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .regex(/^-?\d+$/, 'expected a whole number')
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(min, `expected at least ${String(min)}`)
          .max(max, `expected at most ${String(max)}`),
      ),
  /** A number within bounds, e.g. a ratio 0–1. */
  number: (min = -Infinity, max = Infinity) =>
    z
      .string()
      .regex(/^-?\d+(\.\d+)?$/, 'expected a number')
      .transform(Number)
      .pipe(
        z
          .number()
          .min(min, `expected at least ${String(min)}`)
          .max(max, `expected at most ${String(max)}`),
      ),
  /** true/false, 1/0, yes/no, on/off. */
  bool: () =>
    z.string().transform((raw, ctx) => {
      const value = raw.trim().toLowerCase();
      if (TRUE.has(value)) return true;
      if (FALSE.has(value)) return false;
      ctx.addIssue({ code: 'custom', message: 'expected true or false' });
      return z.NEVER;
    }),
  /** An absolute http(s) URL, e.g. an UPSTREAM_<NAME>_URL. */
  url: () => z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** A comma-separated list of non-empty items, e.g. KAFKA_BROKERS. */
  list: () =>
    z
      .string()
      .transform((raw) =>
        raw
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(1, 'expected a comma-separated list')),
};

/** pino's levels, for LOG_LEVEL. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The variables every Emporium service reads; a service extends this with its own
 * (`baseConfigSchema.extend({ MONGO_URL: z.string(), UPSTREAM_CATALOG_URL: envVar.url() })`).
 */
export const baseConfigSchema = z.object({
  PORT: envVar.port().default(8080),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  /** deployment.environment.name: local, kind, staging, production. */
  DEPLOYMENT_ENVIRONMENT: z.string().min(1).default('local'),
  SERVICE_VERSION: z.string().min(1).default('0.0.0-dev'),
  /** JSON body limit, in the `bytes` package's notation (100kb, 1mb). */
  HTTP_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'expected a size like 100kb')
    .default('100kb'),
  /** A request's headers must arrive within this many ms of its first byte, or 408 (slowloris). */
  HTTP_HEADERS_TIMEOUT_MS: envVar.int(1000, 120_000).default(10_000),
  /** A whole request, body included, must arrive within this many ms, or 408. */
  HTTP_REQUEST_TIMEOUT_MS: envVar.int(1000, 600_000).default(30_000),
  /** Whole-shutdown deadline in ms; keep it under the pod's terminationGracePeriodSeconds. */
  SHUTDOWN_TIMEOUT_MS: envVar.int(1000, 600_000).default(20_000),
  /** How long readiness reports 503 before the server stops accepting, so load balancers and
   * the mesh stop routing here first (ms; a few seconds on Kubernetes, 0 locally). */
  SHUTDOWN_DRAIN_DELAY_MS: envVar.int(0, 120_000).default(0),
  /**
   * Listen with SO_REUSEPORT, so a new process can take over the port while the old one drains
   * (a rolling restart of a local process, with no moment when nothing listens). Off by
   * default: two processes started by mistake on one port then share it instead of failing.
   */
  HTTP_REUSE_PORT: envVar.bool().default(false),
  /** Fault injection rules as JSON (see the faults module); empty means no faults. */
  FAULTS: faultsVar().default([]),
});

/** The parsed base variables. */
export type BaseConfig = z.output<typeof baseConfigSchema>;
