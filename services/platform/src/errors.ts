/**
 * The platform's errors. Every error a service shows a client is an {@link AppError}: a stable
 * machine-readable `code`, an HTTP status, and a message, rendered as RFC 9457
 * `application/problem+json` by the http module.
 */

/** The stable codes of the platform's own errors; services add their own beside these. */
export const PlatformErrorCode = {
  /** The body was not JSON, or not the JSON the route takes. */
  MALFORMED_REQUEST: 'MALFORMED_REQUEST',
  /** Params, query or body failed the route's schema; `errors` lists each field. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  /** No bearer token on a route that needs a signed-in caller. */
  TOKEN_REQUIRED: 'TOKEN_REQUIRED',
  /** A token that is malformed, forged, expired, or for another issuer/audience. */
  INVALID_TOKEN: 'INVALID_TOKEN',
  /** The route needs the `admin` role. */
  ADMIN_REQUIRED: 'ADMIN_REQUIRED',
  /** The route is for named services only, and the caller is not one of them. */
  CALLER_NOT_ALLOWED: 'CALLER_NOT_ALLOWED',
  /** The issuer's JWKS could not be fetched, so no token can be checked right now. */
  JWKS_UNAVAILABLE: 'JWKS_UNAVAILABLE',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  RATE_LIMITED: 'RATE_LIMITED',
  /** A dependency (database, upstream) is down; the client may retry after Retry-After. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The service is shutting down. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  UPSTREAM_FAILED: 'UPSTREAM_FAILED',
  /** An operator-configured fault fired (see the faults module). */
  FAULT_INJECTED: 'FAULT_INJECTED',
  INTERNAL: 'INTERNAL',
} as const;

/** One of the platform's error codes. */
export type PlatformErrorCode = (typeof PlatformErrorCode)[keyof typeof PlatformErrorCode];

/** Options of an {@link AppError} beyond code, status and message. */
export interface AppErrorOptions {
  /** Extra members of the problem document (e.g. `errors`, `skus`). */
  extensions?: Record<string, unknown>;
  /** Response headers to send with it (e.g. Retry-After). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An error meant for the client: rendered as problem+json with its status and code. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    /** Stable, SCREAMING_SNAKE code clients can branch on. */
    readonly code: string,
    /** HTTP status, 400–599. */
    readonly status: number,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

/** One field that failed validation, as listed in a 400's `errors`. */
export interface FieldError {
  /** Where: `body.lines[0].sku`, `query.limit`, `params.id`. */
  path: string;
  message: string;
}

/** An RFC 9457 problem document with the platform's `code` extension. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

/** Reason phrases for the statuses the platform emits. */
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The problem `type` URI of a code: a URN, since the types are not served as pages. */
export function problemType(code: string): string {
  return `urn:emporium:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

/** Renders an AppError as a problem document. */
export function toProblem(error: AppError, instance?: string): ProblemDocument {
  return {
    ...error.extensions,
    type: problemType(error.code),
    title: TITLES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(instance === undefined ? {} : { instance }),
  };
}

/** Shorthands for the platform's common errors. */
export const errors = {
  validation: (fieldErrors: FieldError[]): AppError =>
    new AppError(PlatformErrorCode.VALIDATION_FAILED, 400, 'The request failed validation.', {
      extensions: { errors: fieldErrors },
    }),
  malformed: (detail: string): AppError =>
    new AppError(PlatformErrorCode.MALFORMED_REQUEST, 400, detail),
  notFound: (detail = 'No such resource.'): AppError =>
    new AppError(PlatformErrorCode.NOT_FOUND, 404, detail),
  conflict: (detail: string, extensions?: Record<string, unknown>): AppError =>
    new AppError(PlatformErrorCode.CONFLICT, 409, detail, extensions ? { extensions } : {}),
  unauthorized: (detail = 'Authentication is required.'): AppError =>
    new AppError(PlatformErrorCode.UNAUTHORIZED, 401, detail),
  forbidden: (detail = 'Not allowed.'): AppError =>
    new AppError(PlatformErrorCode.FORBIDDEN, 403, detail),
  rateLimited: (retryAfterSeconds: number): AppError =>
    new AppError(PlatformErrorCode.RATE_LIMITED, 429, 'Too many requests.', {
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    }),
  unavailable: (detail: string, retryAfterSeconds = 5, cause?: unknown): AppError =>
    new AppError(PlatformErrorCode.UNAVAILABLE, 503, detail, {
      headers: { 'retry-after': String(retryAfterSeconds) },
      cause,
    }),
  internal: (cause?: unknown): AppError =>
    new AppError(PlatformErrorCode.INTERNAL, 500, 'An unexpected error occurred.', { cause }),
};
