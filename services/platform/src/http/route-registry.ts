import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Faults } from '../faults/faults.js';
import { z } from 'zod';
import { AppError, PlatformErrorCode } from '../errors.js';
import type { HttpMethod, OpenApiDocument, ResponseSpec } from './openapi.js';
import { METHOD_NOT_ALLOWED } from './problem.js';
import { validateRequest } from './validation.js';

/** The media types a JSON body may come as: `application/json` and `+json` suffixes. */
export const JSON_MEDIA_TYPES = ['application/json', 'application/*+json'];

/**
 * Who may call a route: anyone, any signed-in user, a user with the admin role, or only the
 * named services (each proving who it is with its own workload token).
 */
export type RouteAccess = 'anonymous' | 'user' | 'admin' | { readonly services: readonly string[] };

/**
 * Enforces a route's declared access before anything else of the route runs (body parsing,
 * validation), so a caller without the right learns nothing from a 400 first; throws the 401
 * or 403 problem. The app's authentication (a verified bearer token) decides who the caller is.
 */
export type Authorize = (req: Request, access: RouteAccess) => void | Promise<void>;

/** How one typed route is described: its schemas feed both validation and the document. */
export interface RouteSpec<
  P extends z.ZodObject | undefined,
  Q extends z.ZodObject | undefined,
  B extends z.ZodType | undefined,
> {
  summary?: string;
  description?: string;
  tags?: string[];
  operationId?: string;
  deprecated?: boolean;
  /**
   * Who may call it. Required in an app with an {@link Authorize} hook (every route then says
   * so where it is defined, not in a list kept elsewhere); ignored without one.
   */
  access?: RouteAccess;
  /** Path parameters; without it every `:name` in the path is documented as a string. */
  params?: P;
  /** Query parameters; values arrive as strings (or arrays of them), so use `z.coerce`. */
  query?: Q;
  /** The JSON body; a route without one never parses a body. */
  body?: B;
  /** The handler's own responses; the platform adds the problems it may answer itself. */
  responses: Partial<Record<number, ResponseSpec>>;
}

/** Express's params when the route gives no schema. */
type RawParams = Record<string, string>;
/** Express's parsed query when the route gives no schema (the "simple" querystring parser). */
type RawQuery = Record<string, string | string[] | undefined>;

/** The validated request a handler sees: params, query and body are the schemas' outputs. */
export type TypedRequest<
  P extends z.ZodObject | undefined,
  Q extends z.ZodObject | undefined,
  B extends z.ZodType | undefined,
> = Request<
  P extends z.ZodObject ? z.output<P> : RawParams,
  unknown,
  B extends z.ZodType ? z.output<B> : undefined,
  Q extends z.ZodObject ? z.output<Q> : RawQuery
>;

/** A typed route's handler; a rejection reaches the error handler as a problem. */
export type RouteHandler<
  P extends z.ZodObject | undefined,
  Q extends z.ZodObject | undefined,
  B extends z.ZodType | undefined,
> = (req: TypedRequest<P, Q, B>, res: Response) => Promise<void> | void;

/** Registers one typed route for one method. */
export type RouteMethod = <
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(
  path: string,
  spec: RouteSpec<P, Q, B>,
  handler: RouteHandler<P, Q, B>,
) => void;

/** Typed, validated, documented route registration. */
export interface Routes {
  get: RouteMethod;
  post: RouteMethod;
  put: RouteMethod;
  patch: RouteMethod;
  delete: RouteMethod;
  /**
   * Router-level middleware (auth, rate limits) for the routes registered after it; it runs
   * before 404 handling, unlike `app.use` after the app was built.
   */
  use(...handlers: RequestHandler[]): void;
}

/** The registry and the two routers the app mounts: the routes, then their 405 fallbacks. */
export interface RouteRegistry {
  routes: Routes;
  router: Router;
  methodNotAllowed: Router;
}

/** Options of {@link createRouteRegistry}. */
export interface RouteRegistryOptions {
  openapi: OpenApiDocument;
  /** The JSON body limit, in body-parser's notation (`'100kb'`) or bytes. */
  bodyLimit: string | number;
  /** Operator fault rules; each route is the target `route:<METHOD> <path>`. */
  faults?: Faults;
  /** Checks each route's declared `access`; every route must then declare one. */
  authorize?: Authorize;
}

/** Express 5 path names: `:id`, `*rest`; optional groups `{...}` cannot be documented. */
const PATH_PARAM = /[:*]([A-Za-z_$][\w$]*)/g;

function pathParamNames(path: string): string[] {
  return [...path.matchAll(PATH_PARAM)].map((match) => match[1] ?? '');
}

/** A request carries a body unless it says it has none; a chunked one counts. */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const requireJson: RequestHandler = (req, _res, next) => {
  if (hasBody(req) && req.is(JSON_MEDIA_TYPES) === false) {
    throw new AppError(
      PlatformErrorCode.UNSUPPORTED_MEDIA_TYPE,
      415,
      'The request body must be application/json.',
    );
  }
  next();
};

/** Creates the registry of typed routes, documenting each in `openapi` as it is added. */
export function createRouteRegistry(options: RouteRegistryOptions): RouteRegistry {
  // Strict and case-sensitive: one spelling per route, so `/API/products` or `/products/` never
  // reaches a handler that middleware matching on the exact path did not look at.
  const router = express.Router({ caseSensitive: true, strict: true });
  const methodNotAllowed = express.Router({ caseSensitive: true, strict: true });
  const methodsByPath = new Map<string, Set<string>>();
  const json = express.json({ limit: options.bodyLimit, type: JSON_MEDIA_TYPES });
  const track = (method: HttpMethod, path: string): void => {
    let methods = methodsByPath.get(path);
    if (!methods) {
      methods = new Set();
      methodsByPath.set(path, methods);
      // Reached only when no route of this path took the method: answer 405 with Allow.
      methodNotAllowed.all(path, (req) => {
        const allow = [...(methodsByPath.get(path) ?? [])];
        if (allow.includes('GET')) allow.push('HEAD');
        throw new AppError(
          METHOD_NOT_ALLOWED,
          405,
          `${req.method} is not allowed here; use ${allow.join(', ')}.`,
          { headers: { allow: allow.join(', ') } },
        );
      });
    }
    methods.add(method.toUpperCase());
  };

  const register =
    (method: HttpMethod): RouteMethod =>
    (path, spec, handler) => {
      if (/[{}]/.test(path)) {
        throw new Error(`route ${path}: optional groups cannot be documented; register each form`);
      }
      const names = pathParamNames(path);
      // Without a schema every path parameter is still documented (OpenAPI requires it).
      const params =
        spec.params ??
        (names.length > 0
          ? z.object(Object.fromEntries(names.map((name) => [name, z.string()])))
          : undefined);
      options.openapi.add({
        method,
        path,
        summary: spec.summary,
        description: spec.description,
        tags: spec.tags,
        operationId: spec.operationId,
        deprecated: spec.deprecated,
        access: spec.access,
        params,
        query: spec.query,
        body: spec.body,
        responses: spec.responses,
      });

      const validateAndHandle: RequestHandler = async (req, res) => {
        const result = await validateRequest(
          { params: spec.params, query: spec.query, body: spec.body },
          { params: req.params, query: req.query, body: spec.body ? req.body : undefined },
        );
        if (!result.success) throw result.error;
        req.params = result.params as Request['params'];
        // Express 5 defines req.query as a getter that re-parses the URL, so shadow it.
        Object.defineProperty(req, 'query', {
          value: result.query,
          writable: true,
          enumerable: true,
          configurable: true,
        });
        req.body = result.body;
        if (options.faults) await options.faults.inject(`route:${method.toUpperCase()} ${path}`);
        // The values were just validated against the schemas TypedRequest is derived from.
        await handler(req as unknown as Parameters<typeof handler>[0], res);
      };

      const { authorize } = options;
      const access = spec.access;
      if (authorize && access === undefined) {
        throw new Error(`route ${method.toUpperCase()} ${path}: declare who may call it (access)`);
      }
      const guard: RequestHandler[] =
        authorize && access !== undefined
          ? [
              async (req, _res, next) => {
                await authorize(req, access);
                next();
              },
            ]
          : [];
      const stack: RequestHandler[] = [...guard, ...(spec.body ? [requireJson, json] : [])];
      router[method](path, ...stack, validateAndHandle);
      track(method, path);
    };

  return {
    router,
    methodNotAllowed,
    routes: {
      get: register('get'),
      post: register('post'),
      put: register('put'),
      patch: register('patch'),
      delete: register('delete'),
      use: (...handlers) => {
        router.use(...handlers);
      },
    },
  };
}
