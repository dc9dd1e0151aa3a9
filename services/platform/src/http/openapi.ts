import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { PROBLEM_CONTENT_TYPE, ProblemSchema } from './problem.js';

/** The `info` of the generated document. */
export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

/**
 * How a route documents one response: a zod schema of its JSON body, `'problem'` for an RFC
 * 9457 error, `'empty'` for a bodiless one (204, 202 without a body), or the long form.
 */
export type ResponseSpec =
  | z.ZodType
  | 'problem'
  | 'empty'
  | {
      description: string;
      /** The body; omitted for an empty response. */
      schema?: z.ZodType;
      /** Defaults to `application/json`. */
      contentType?: string;
    };

/** The HTTP methods a typed route can take. */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One operation as the route registry hands it to the document. */
export interface OperationDoc {
  method: HttpMethod;
  /** The express path, e.g. `/products/:id`. */
  path: string;
  summary?: string | undefined;
  description?: string | undefined;
  tags?: string[] | undefined;
  operationId?: string | undefined;
  deprecated?: boolean | undefined;
  params?: z.ZodObject | undefined;
  query?: z.ZodObject | undefined;
  body?: z.ZodType | undefined;
  responses: Partial<Record<number, ResponseSpec>>;
  /**
   * Who may call it (see the route registry). Declared: any bearer token sent is checked (401
   * for a bad one); anything but `anonymous` also needs one (the `bearer` security scheme) and
   * may be refused with 403.
   */
  access?: 'anonymous' | 'user' | 'admin' | { readonly services: readonly string[] } | undefined;
}

/** The name of the bearer-token security scheme in every document with declared access. */
export const BEARER_SCHEME = 'bearer';

/** The generated document (openapi3-ts's OpenAPIObject, reached without depending on it). */
export type OpenAPIObject = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** Collects operations and renders the OpenAPI 3.1 document. */
export interface OpenApiDocument {
  /** The underlying registry, to register extra components (e.g. security schemes). */
  readonly registry: OpenAPIRegistry;
  add(operation: OperationDoc): void;
  /** The document as of now; regenerated only after a route was added. */
  document(): OpenAPIObject;
}

/** Express `:id` and `*rest` become OpenAPI `{id}` and `{rest}`. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replaceAll(/[:*]([A-Za-z_$][\w$]*)/g, '{$1}');
}

const STANDARD_DESCRIPTIONS: Partial<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  400: 'The request is malformed or failed validation (`errors` lists each field).',
  401: 'Authentication is required.',
  403: 'Not allowed.',
  404: 'No such resource.',
  409: 'Conflict with the current state.',
  413: 'The request body is too large.',
  415: 'The request body is not JSON.',
  429: 'Too many requests; retry after Retry-After seconds.',
  500: 'An unexpected error.',
  503: 'A dependency is down or the service is shutting down; retry after Retry-After seconds.',
  504: 'An upstream service did not answer in time.',
};

const RETRY_AFTER_HEADER = {
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer' as const, minimum: 0 },
  },
};

function describe(status: number): string {
  return STANDARD_DESCRIPTIONS[status] ?? `HTTP ${String(status)}`;
}

function problemResponse(status: number, description = describe(status)): ResponseConfig {
  return {
    description,
    ...(status === 429 || status === 503 ? { headers: RETRY_AFTER_HEADER } : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
  };
}

function toResponseConfig(status: number, spec: ResponseSpec): ResponseConfig {
  if (spec === 'problem') return problemResponse(status);
  if (spec === 'empty') return { description: describe(status) };
  // Every zod schema carries `_zod`; the long form never does.
  if ('_zod' in spec) {
    return { description: describe(status), content: { 'application/json': { schema: spec } } };
  }
  if (spec.schema === undefined) {
    return status >= 400
      ? problemResponse(status, spec.description)
      : { description: spec.description };
  }
  return {
    description: spec.description,
    content: { [spec.contentType ?? 'application/json']: { schema: spec.schema } },
  };
}

/**
 * The statuses the platform itself may answer on a route, whatever its handler does: 400 when
 * anything is validated, 413 and 415 when a body is parsed, 500 and 503 always.
 */
export function platformStatuses(
  operation: Pick<OperationDoc, 'params' | 'query' | 'body' | 'access'>,
): number[] {
  const statuses = [500, 503];
  if (operation.access !== undefined) statuses.push(401);
  if (operation.access !== undefined && operation.access !== 'anonymous') statuses.push(403);
  if (operation.params ?? operation.query ?? operation.body) statuses.push(400);
  if (operation.body) statuses.push(413, 415);
  return statuses.sort((a, b) => a - b);
}

/** The `x-access` (and `x-callers`) extensions of an operation with declared access. */
function accessExtensions(access: OperationDoc['access']): Record<`x-${string}`, unknown> {
  if (access === undefined) return {};
  if (typeof access === 'string') return { 'x-access': access };
  return { 'x-access': 'services', 'x-callers': [...access.services] };
}

/** Creates the document builder; the Problem schema is always among its components. */
export function createOpenApiDocument(info: OpenApiInfo): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  let cached: OpenAPIObject | undefined;
  let bearerRegistered = false;

  return {
    registry,
    add(operation) {
      const responses: RouteConfig['responses'] = {};
      for (const [status, spec] of Object.entries(operation.responses)) {
        if (spec !== undefined) responses[status] = toResponseConfig(Number(status), spec);
      }
      for (const status of platformStatuses(operation)) {
        responses[String(status)] ??= problemResponse(status);
      }
      const needsToken = operation.access !== undefined && operation.access !== 'anonymous';
      if (needsToken && !bearerRegistered) {
        registry.registerComponent('securitySchemes', BEARER_SCHEME, {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "A user's access token from the identity provider, or a calling service's workload " +
            'token with this service as audience; each route says which it takes.',
        });
        bearerRegistered = true;
      }
      registry.registerPath({
        method: operation.method,
        path: toOpenApiPath(operation.path),
        ...(operation.summary === undefined ? {} : { summary: operation.summary }),
        ...(operation.description === undefined ? {} : { description: operation.description }),
        ...(operation.tags === undefined ? {} : { tags: operation.tags }),
        ...(operation.operationId === undefined ? {} : { operationId: operation.operationId }),
        ...(operation.deprecated === undefined ? {} : { deprecated: operation.deprecated }),
        ...(needsToken ? { security: [{ [BEARER_SCHEME]: [] }] } : {}),
        // Who may call, for readers and tests: anonymous, user, admin, or services (x-callers).
        ...accessExtensions(operation.access),
        request: {
          ...(operation.params ? { params: operation.params } : {}),
          ...(operation.query ? { query: operation.query } : {}),
          ...(operation.body
            ? {
                body: {
                  required: true,
                  content: { 'application/json': { schema: operation.body } },
                },
              }
            : {}),
        },
        responses,
      });
      cached = undefined;
    },
    document() {
      // ProblemSchema goes in bare (named by its meta id) rather than through
      // registry.register(), which needs extendZodWithOpenApi to have run before the schema
      // was created; zod 4 copies prototype methods onto instances at construction.
      cached ??= new OpenApiGeneratorV31([...registry.definitions, ProblemSchema]).generateDocument(
        {
          openapi: '3.1.0',
          info: {
            title: info.title,
            version: info.version,
            ...(info.description === undefined ? {} : { description: info.description }),
          },
        },
      );
      return cached;
    },
  };
}
