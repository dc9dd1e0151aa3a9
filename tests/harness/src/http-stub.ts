// A stand-in for another service in app tests: real HTTP on 127.0.0.1, so the service under
// test goes through its real upstream client (timeouts, retries, problem mapping).
import { once } from 'node:events';
import {
  createServer,
  STATUS_CODES,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a stub received. */
export interface StubCall {
  method: string;
  /** The path without the query (`/products`). */
  path: string;
  /** The path with the query, as sent (`/products?skus=A,B`). */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
}

/** A request as a handler sees it: the call, its query, and the `:name` segments of its route. */
export interface StubRequest<Param extends string = string> extends StubCall {
  query: URLSearchParams;
  params: Readonly<Record<Param, string>>;
}

/** Answers one request; it may be async (e.g. to be slow) or destroy `res` to drop the call. */
export type StubHandler<Param extends string = string> = (
  req: StubRequest<Param>,
  res: ServerResponse,
) => Promise<void> | void;

/** The `:name` segments of a route such as `GET /carts/:userId/lines/:sku`. */
export type RouteParams<Route extends string> =
  Route extends `${string}:${infer Name}/${infer Rest}`
    ? Name | RouteParams<`/${Rest}`>
    : Route extends `${string}:${infer Name}`
      ? Name
      : never;

/**
 * Handlers by `METHOD /path` (`:name` matches one segment); the first match answers, anything
 * unmatched gets a 404 NOT_FOUND problem.
 */
export type StubRoutes<Route extends string> = {
  [R in Route]: StubHandler<RouteParams<R>>;
};

/** A running stub. */
export interface HttpStub {
  /** `http://127.0.0.1:<port>`, the base URL to configure the service under test with. */
  url: string;
  /** Every request received, oldest first, answered or not. */
  calls: StubCall[];
  /** Closes the server and any connection still open. */
  stop(): Promise<void>;
}

/** Answers `status` with `body` as `application/json`. */
export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Answers an `application/problem+json` document shaped like the platform's, with `code`. */
export function problem(
  res: ServerResponse,
  status: number,
  code: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  const document = {
    type: `urn:emporium:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: code,
    code,
    ...extensions,
  };
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  res.end(JSON.stringify(document));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let raw = '';
  for await (const chunk of req) raw += (chunk as Buffer).toString();
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The params of `route` when it matches the request, else undefined. */
function matchRoute(
  route: string,
  method: string,
  path: string,
): Record<string, string> | undefined {
  const [routeMethod, pattern = ''] = route.split(' ');
  const expected = pattern.split('/');
  const actual = path.split('/');
  if (routeMethod !== method || expected.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of expected.entries()) {
    const value = actual[i] ?? '';
    if (segment.startsWith(':') && value !== '')
      params[segment.slice(1)] = decodeURIComponent(value);
    else if (segment !== value) return undefined;
  }
  return params;
}

function router(routes: Record<string, StubHandler>): StubHandler {
  const table = Object.entries(routes);
  return async (req, res) => {
    for (const [route, handler] of table) {
      const params = matchRoute(route, req.method, req.path);
      if (params) {
        await handler({ ...req, params }, res);
        return;
      }
    }
    problem(res, 404, 'NOT_FOUND');
  };
}

/** Starts a stub on a free port of 127.0.0.1 answering with `handler`. */
export function startHttpStub(handler: StubHandler): Promise<HttpStub>;
/** Starts a stub on a free port of 127.0.0.1 answering by `routes`. */
export function startHttpStub<Route extends string>(routes: StubRoutes<Route>): Promise<HttpStub>;
export async function startHttpStub(
  handlerOrRoutes: StubHandler | Record<string, StubHandler>,
): Promise<HttpStub> {
  const handle = typeof handlerOrRoutes === 'function' ? handlerOrRoutes : router(handlerOrRoutes);
  const calls: StubCall[] = [];
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const call: StubCall = {
      method: req.method ?? '',
      path: url.pathname,
      url: url.pathname + url.search,
      headers: req.headers,
      body: await readBody(req),
    };
    calls.push(call);
    await handle({ ...call, query: url.searchParams, params: {} }, res);
  };
  const server = createServer((req, res) => {
    answer(req, res).catch((error: unknown) => {
      // Without an answer the call would hang until the client's timeout, hiding the cause.
      if (res.headersSent) res.destroy();
      else problem(res, 500, 'STUB_FAILED', { detail: String(error) });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    calls,
    stop: async () => {
      // Clients keep connections alive; close() alone would wait for them.
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
