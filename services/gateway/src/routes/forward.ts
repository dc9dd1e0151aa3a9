import { PROBLEM_CONTENT_TYPE, type UpstreamResponse } from '@emporium/platform';
import type { Response } from 'express';

/**
 * Sends an upstream's answer on as it came: status, body, and Retry-After; a 4xx body is the
 * upstream's problem document and keeps its media type. `location` replaces the upstream's
 * Location with the public one.
 */
export function sendUpstream(res: Response, upstream: UpstreamResponse, location?: string): void {
  const retryAfter = upstream.headers.get('retry-after');
  if (retryAfter !== null) res.set('retry-after', retryAfter);
  if (location !== undefined) res.location(location);
  res.status(upstream.status);
  if (upstream.body === undefined) {
    res.end();
  } else if (!upstream.ok) {
    res.type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(upstream.body));
  } else {
    res.json(upstream.body);
  }
}
