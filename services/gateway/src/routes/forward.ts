import {
  PROBLEM_CONTENT_TYPE,
  type UpstreamClient,
  type UpstreamRequest,
  type UpstreamResponse,
} from '@emporium/platform';
import type { Response } from 'express';
import type { Identity } from '../domain/identity.js';
import { identityHeaders } from '../gateways/upstreams.gateway.js';
import { requireCaller } from './edge.middleware.js';

/** Response headers a client may act on, passed through from the upstream as they are. */
const PASSED_ON = ['retry-after', 'idempotent-replayed'] as const;

/**
 * An upstream's problem document as a client may see it: its fields, but `instance` is the
 * path the client asked for, not the upstream's (which names internal routes and prefixes).
 */
function publicProblem(body: unknown, instance: string): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const fields = Object.entries(body).filter(([name]) => name !== 'instance');
  return { ...Object.fromEntries(fields), instance };
}

/**
 * Sends an upstream's answer on as it came: status, body, Retry-After and
 * Idempotent-Replayed; a 4xx body is the upstream's problem document and keeps its media type
 * (its `instance` made the public path). `location` replaces the upstream's Location with the
 * public one.
 */
export function sendUpstream(res: Response, upstream: UpstreamResponse, location?: string): void {
  for (const name of PASSED_ON) {
    const value = upstream.headers.get(name);
    if (value !== null) res.set(name, value);
  }
  if (location !== undefined) res.location(location);
  res.status(upstream.status);
  if (upstream.body === undefined) {
    res.end();
  } else if (!upstream.ok) {
    const instance = res.req.originalUrl.split('?', 1)[0] ?? '';
    res.type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(publicProblem(upstream.body, instance)));
  } else {
    res.json(upstream.body);
  }
}

/**
 * Forwards a signed-in caller's request: `call` builds the upstream request from the verified
 * caller (never from anything else the client sent), which goes out with the identity
 * headers, and the answer goes back as it came.
 */
export async function forwardAsCaller(
  req: object,
  res: Response,
  upstream: UpstreamClient,
  call: (caller: Identity) => UpstreamRequest,
): Promise<void> {
  const caller = requireCaller(req);
  const request = call(caller);
  sendUpstream(
    res,
    await upstream.request({
      ...request,
      headers: { ...identityHeaders(caller), ...request.headers },
    }),
  );
}
