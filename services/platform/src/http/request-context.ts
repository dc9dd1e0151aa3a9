import { randomUUID } from 'node:crypto';
import type { Express, Request, RequestHandler } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request id: the caller's `x-request-id` when it is safe, else a fresh UUID. */
    id: string;
    /** A child logger stamped with `request_id`, made on first use. */
    log: Logger;
  }
}

/** The header a request id travels in; Envoy sets it on every request it proxies. */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * A request id we accept from a caller: 1–128 of `A-Z a-z 0-9 _ . : -`, enough for UUIDs,
 * ULIDs and Envoy's ids while keeping log injection and header smuggling out.
 */
export const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Where a request keeps its child logger once `req.log` was first read. */
const REQUEST_LOGGER = Symbol('emporium.requestLogger');

type WithLogger = Request & { [REQUEST_LOGGER]?: Logger };

/**
 * Gives every request of `app` an id (echoed in the response) and `req.log`, a child logger
 * carrying it. The child is made when a handler first logs, not per request: pino serialises
 * a child's bindings when it is made, and most requests only write the access line, which
 * `observeRequests` writes with `request_id` as a field of the base logger instead.
 */
export function requestContext(app: Express, logger: Logger): RequestHandler {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: WithLogger): Logger {
      return (this[REQUEST_LOGGER] ??= logger.child({ request_id: this.id }));
    },
    set(this: WithLogger, value: Logger) {
      this[REQUEST_LOGGER] = value;
    },
  });
  return (req, res, next) => {
    const incoming = req.headers[REQUEST_ID_HEADER];
    const id =
      typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    next();
  };
}
