import { setTimeout as sleep } from 'node:timers/promises';
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ServiceTokens } from '../auth/service-tokens.js';
import { AppError, PlatformErrorCode, errors } from '../errors.js';
import { LATENCY_BUCKETS_SECONDS, traceExemplar, type Metrics } from '../telemetry/metrics.js';
import { redactedUrl } from '../telemetry/url-redaction.js';

/** The methods an upstream call may use. */
export type UpstreamMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** Query values; arrays repeat the key, `undefined` drops it. */
export type QueryValue =
  string | number | boolean | undefined | readonly (string | number | boolean)[];

/** One call to an upstream service. */
export interface UpstreamRequest {
  method: UpstreamMethod;
  /** Appended to the base URL as is: encode path segments with encodeURIComponent. */
  path: string;
  /**
   * The path as a template, e.g. `/carts/:userId`, when the real one names a person: spans
   * record it (`url.template`, and in `url.full` in place of the path), so no user id leaves in
   * traces. Without it spans record the path as sent. Query values are never recorded.
   */
  route?: string;
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Whether the call may be repeated. Defaults to true for GET, HEAD, PUT, DELETE and
   * OPTIONS (RFC 9110 idempotent methods) and for any call with an Idempotency-Key header.
   */
  idempotent?: boolean;
  /** Overrides the client's per-attempt timeout, in ms. */
  timeoutMs?: number;
  /** The caller's cancellation (e.g. its own client went away); never retried. */
  signal?: AbortSignal;
}

/** An upstream's answer below 500; `ok` tells a 2xx from a 4xx the caller must decide on. */
export type UpstreamResponse<T = unknown> =
  | { ok: true; status: number; headers: Headers; body: T }
  | {
      ok: false;
      status: number;
      headers: Headers;
      /** Usually the upstream's problem document; not validated. */
      body: unknown;
    };

/** A client of one upstream service. */
export interface UpstreamClient {
  readonly name: string;
  /**
   * Calls the upstream. A 2xx or 4xx is returned; a 5xx, timeout or connection failure
   * (after the retries an idempotent call gets) is thrown as an AppError: 504
   * UPSTREAM_TIMEOUT, 503 UNAVAILABLE with Retry-After, or 502 UPSTREAM_FAILED.
   */
  request<S extends z.ZodType>(
    request: UpstreamRequest & { schema: S },
  ): Promise<UpstreamResponse<z.output<S>>>;
  request(request: UpstreamRequest): Promise<UpstreamResponse>;
}

/** Options of {@link createUpstreamClient}. */
export interface UpstreamClientOptions {
  /** The upstream's service name (`catalog`): span name, metric label, error wording. */
  name: string;
  /** Where it is reached, e.g. `http://127.0.0.1:15001` (an Envoy egress listener). */
  baseUrl: string;
  /** Per-attempt timeout in ms, covering the response body too. */
  timeoutMs?: number;
  /** Extra attempts an idempotent call gets after a connection failure or a 502/503/504. */
  retries?: number;
  /** Base of the exponential backoff between attempts, in ms. */
  backoffMs?: number;
  /** Seconds a client is told to wait when this upstream is unreachable. */
  retryAfterSeconds?: number;
  /** Headers sent with every call. */
  headers?: Record<string, string>;
  /**
   * This service's own identity, sent as `Authorization` on every call that does not carry
   * one already (a user's token, passed on): its workload token for the upstream `name`.
   */
  tokens?: ServiceTokens;
  metrics: Metrics;
  logger: Logger;
}

const IDEMPOTENT_METHODS = new Set<string>(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
/** Statuses a proxy or a draining pod answers, worth another attempt when idempotent. */
const RETRYABLE_STATUSES = new Set([502, 503, 504]);
/** The status label of an attempt that got no response at all. */
const NO_RESPONSE = '0';
/** `peer.service` is still incubating in semconv, whose guidance is to copy the name. */
const ATTR_PEER_SERVICE = 'peer.service';
/** `url.template` is incubating in semconv too. */
const ATTR_URL_TEMPLATE = 'url.template';

/** What one attempt came to: a response, or an error and whether it may be retried. */
type Attempt =
  | { kind: 'response'; status: number; headers: Headers; body: unknown }
  | { kind: 'error'; error: unknown; retryable: boolean };

function buildUrl(baseUrl: string, path: string, query: Record<string, QueryValue> = {}): URL {
  // Joined by hand: new URL(path, base) would drop a path prefix in the base URL.
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const values: readonly (string | number | boolean)[] = Array.isArray(value)
      ? value
      : [value as string | number | boolean];
    for (const item of values) url.searchParams.append(key, String(item));
  }
  return url;
}

/**
 * The URL a span records: every query value redacted (`?userId=REDACTED`), so ids and search
 * terms stay out of traces while the shape of the call stays readable.
 */
export function spanUrl(url: URL): string {
  return redactedUrl(url);
}

/** The socket-level error codes of undici's "fetch failed", found on the error's cause. */
function networkCode(error: unknown): string | undefined {
  if (!(error instanceof TypeError)) return undefined;
  const cause: unknown = error.cause;
  if (typeof cause === 'object' && cause !== null && 'code' in cause) {
    return typeof cause.code === 'string' ? cause.code : 'network';
  }
  return 'network';
}

function isJson(contentType: string | null): boolean {
  if (contentType === null) return false;
  const essence = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return essence === 'application/json' || essence.endsWith('+json');
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text.length === 0) return undefined;
  return isJson(response.headers.get('content-type')) ? (JSON.parse(text) as unknown) : text;
}

/** Retry-After in seconds when the upstream gave a number, else the fallback. */
function retryAfterOf(headers: Headers, fallback: number): number {
  const value = Number(headers.get('retry-after'));
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/**
 * A client of one upstream service over fetch. Every attempt has a timeout, gets a CLIENT span
 * whose W3C trace context travels in the request headers, and is timed in
 * `http_client_request_duration_seconds`. Only idempotent calls are retried, at most `retries`
 * times, with exponential backoff and jitter; a timeout is never retried, because a slow
 * upstream is usually an overloaded one.
 */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const { name, metrics, logger } = options;
  const timeoutMs = options.timeoutMs ?? 2000;
  const retries = Math.max(0, options.retries ?? 2);
  const backoffMs = options.backoffMs ?? 50;
  const retryAfterSeconds = options.retryAfterSeconds ?? 5;
  const log = logger.child({ upstream: name });
  const tracer = trace.getTracer('@emporium/platform/http');
  const histogram = metrics.histogram({
    name: 'http_client_request_duration_seconds',
    help: 'Duration of outbound HTTP requests to other services, per attempt.',
    labelNames: ['upstream', 'http_request_method', 'http_response_status_code'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
  });

  const attempt = (
    request: UpstreamRequest,
    url: URL,
    recorded: string,
    resendCount: number,
  ): Promise<Attempt> => {
    const { method } = request;
    return tracer.startActiveSpan(
      `${method} ${name}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_SERVER_ADDRESS]: url.hostname,
          [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
          [ATTR_URL_FULL]: recorded,
          ...(request.route === undefined ? {} : { [ATTR_URL_TEMPLATE]: request.route }),
          [ATTR_PEER_SERVICE]: name,
          ...(resendCount > 0 ? { [ATTR_HTTP_REQUEST_RESEND_COUNT]: resendCount } : {}),
        },
      },
      async (span: Span): Promise<Attempt> => {
        const headers: Record<string, string> = {
          accept: 'application/json, application/problem+json',
          ...options.headers,
          ...request.headers,
        };
        if (
          options.tokens &&
          !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')
        ) {
          const authorization = await options.tokens.authorization(name);
          if (authorization !== undefined) headers.authorization = authorization;
        }
        if (request.body !== undefined) headers['content-type'] = 'application/json';
        propagation.inject(context.active(), headers);
        const timeout = AbortSignal.timeout(request.timeoutMs ?? timeoutMs);
        const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
        const started = performance.now();
        let statusLabel = NO_RESPONSE;
        try {
          const response = await fetch(url, {
            method,
            headers,
            signal,
            ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
          });
          statusLabel = String(response.status);
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
          // Semconv: a 4xx is an error for a CLIENT span, though not for a server one.
          if (response.status >= 400) {
            span.setAttribute(ATTR_ERROR_TYPE, statusLabel);
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          let body: unknown;
          try {
            body = await readBody(response);
          } catch (error) {
            if (error instanceof SyntaxError) {
              span.setAttribute(ATTR_ERROR_TYPE, 'invalid_json');
              return {
                kind: 'error',
                retryable: false,
                error: new AppError(
                  PlatformErrorCode.UPSTREAM_FAILED,
                  502,
                  `The ${name} service answered with invalid JSON.`,
                  { cause: error },
                ),
              };
            }
            throw error;
          }
          return { kind: 'response', status: response.status, headers: response.headers, body };
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          if (request.signal?.aborted) {
            span.setAttribute(ATTR_ERROR_TYPE, 'cancelled');
            return { kind: 'error', error: request.signal.reason, retryable: false };
          }
          if (timeout.aborted) {
            span.setAttribute(ATTR_ERROR_TYPE, 'timeout');
            return {
              kind: 'error',
              retryable: false,
              error: new AppError(
                PlatformErrorCode.UPSTREAM_TIMEOUT,
                504,
                `The ${name} service did not answer in time.`,
                { cause: error },
              ),
            };
          }
          const code = networkCode(error);
          if (code !== undefined) {
            span.setAttribute(ATTR_ERROR_TYPE, code);
            return {
              kind: 'error',
              retryable: true,
              error: errors.unavailable(
                `The ${name} service is unavailable.`,
                retryAfterSeconds,
                error,
              ),
            };
          }
          span.recordException(error instanceof Error ? error : String(error));
          throw error;
        } finally {
          histogram.observe({
            labels: {
              upstream: name,
              http_request_method: method,
              http_response_status_code: statusLabel,
            },
            value: (performance.now() - started) / 1000,
            exemplarLabels: traceExemplar(),
          });
          span.end();
        }
      },
    );
  };

  const toFailure = (status: number, headers: Headers): AppError => {
    if (status === 503) {
      return errors.unavailable(
        `The ${name} service is unavailable.`,
        retryAfterOf(headers, retryAfterSeconds),
      );
    }
    if (status === 504) {
      return new AppError(
        PlatformErrorCode.UPSTREAM_TIMEOUT,
        504,
        `The ${name} service did not answer in time.`,
      );
    }
    return new AppError(
      PlatformErrorCode.UPSTREAM_FAILED,
      502,
      `The ${name} service failed (HTTP ${String(status)}).`,
    );
  };

  async function request<S extends z.ZodType>(
    call: UpstreamRequest & { schema: S },
  ): Promise<UpstreamResponse<z.output<S>>>;
  async function request(call: UpstreamRequest): Promise<UpstreamResponse>;
  async function request(
    call: UpstreamRequest & { schema?: z.ZodType },
  ): Promise<UpstreamResponse> {
    const idempotent =
      call.idempotent ??
      (IDEMPOTENT_METHODS.has(call.method) ||
        Object.keys(call.headers ?? {}).some((key) => key.toLowerCase() === 'idempotency-key'));
    // The only place idempotency matters: a call that must not repeat gets one attempt.
    const attempts = idempotent ? retries + 1 : 1;
    const url = buildUrl(options.baseUrl, call.path, call.query);
    const recorded = spanUrl(
      call.route === undefined ? url : buildUrl(options.baseUrl, call.route, call.query),
    );

    for (let index = 0; ; index++) {
      const outcome = await attempt(call, url, recorded, index);
      const last = index + 1 >= attempts;
      if (outcome.kind === 'error') {
        if (!outcome.retryable || last) throw outcome.error;
        log.warn({ err: outcome.error, method: call.method, path: call.path }, 'retrying');
      } else if (outcome.status >= 500) {
        if (!RETRYABLE_STATUSES.has(outcome.status) || last) {
          log.warn({ method: call.method, path: call.path, status: outcome.status }, 'failed');
          throw toFailure(outcome.status, outcome.headers);
        }
        log.warn({ method: call.method, path: call.path, status: outcome.status }, 'retrying');
      } else if (outcome.status >= 400) {
        return { ok: false, status: outcome.status, headers: outcome.headers, body: outcome.body };
      } else {
        let body = outcome.body;
        if (call.schema) {
          const parsed = call.schema.safeParse(body);
          if (!parsed.success) {
            log.warn({ issues: parsed.error.issues, path: call.path }, 'unexpected response body');
            throw new AppError(
              PlatformErrorCode.UPSTREAM_FAILED,
              502,
              `The ${name} service answered with an unexpected body.`,
              { cause: parsed.error },
            );
          }
          body = parsed.data;
        }
        return { ok: true, status: outcome.status, headers: outcome.headers, body };
      }
      // Exponential backoff with jitter in [50 %, 100 %] so retrying replicas spread out.
      const delay = backoffMs * 2 ** index * (0.5 + Math.random() / 2);
      await sleep(delay, undefined, call.signal ? { signal: call.signal } : {});
    }
  }

  return { name, request };
}

/** The upstream settings of a service's config (the platform's `upstreamConfigShape`). */
export interface UpstreamSettings {
  readonly UPSTREAM_TIMEOUT_MS: number;
  readonly UPSTREAM_RETRIES: number;
}

/**
 * A maker of the service's upstream clients, each with the config's UPSTREAM_TIMEOUT_MS and
 * UPSTREAM_RETRIES: `const upstream = upstreamClients(config, { metrics, logger });
 * upstream('catalog', config.UPSTREAM_CATALOG_URL)`.
 */
export function upstreamClients(
  config: UpstreamSettings,
  deps: Pick<UpstreamClientOptions, 'metrics' | 'logger' | 'tokens'>,
): (name: string, baseUrl: string) => UpstreamClient {
  return (name, baseUrl) =>
    createUpstreamClient({
      name,
      baseUrl,
      timeoutMs: config.UPSTREAM_TIMEOUT_MS,
      retries: config.UPSTREAM_RETRIES,
      ...deps,
    });
}
