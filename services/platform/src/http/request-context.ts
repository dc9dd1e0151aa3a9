import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request id: the caller's `x-request-id` when it is safe, else a fresh UUID. */
    id: string;
    /** A child logger stamped with `request_id`. */
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

/** Gives every request an id (echoed in the response) and a child logger carrying it. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get(REQUEST_ID_HEADER);
    const id = incoming !== undefined && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    req.log = logger.child({ request_id: id });
    res.set(REQUEST_ID_HEADER, id);
    next();
  };
}
