import type { Request, RequestHandler } from 'express';
import {
  adminRequired,
  callerNotAllowed,
  TokenRefusedError,
  tokenRequired,
  type TokenRefusal,
} from '../auth/token-errors.js';
import { isAdmin, type Caller, type CallerVerifier } from '../auth/verifiers.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Authorize, RouteAccess } from './route-registry.js';

/** The verified caller of each request, kept off `res.locals` so it stays typed. */
const callers = new WeakMap<object, Caller>();

/** The verified caller of a request; undefined for an anonymous one (no token). */
export function callerOf(req: object): Caller | undefined {
  return callers.get(req);
}

/**
 * The bearer token of a request: undefined without an Authorization header, `''` for one that
 * is not `Bearer <compact JWS>` (a malformed header is a bad token, not an absent one).
 */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+([A-Za-z0-9\-_.]+)\s*$/i.exec(header);
  return match?.[1] ?? '';
}

/** `auth_tokens_refused_total{reason}`: bearer tokens that failed verification, by why. */
export function tokensRefusedCounter(metrics: Metrics): {
  inc(labels: { reason: TokenRefusal }): void;
} {
  return metrics.counter<'reason'>({
    name: 'auth_tokens_refused_total',
    help: 'Bearer tokens refused, by reason: malformed, algorithm, unknown_key, signature, expired, issuer, audience, token_use, claims.',
    labelNames: ['reason'],
  });
}

/**
 * Verifies the request's bearer token, if it has one, and remembers its caller for
 * {@link callerOf}. No token: an anonymous caller, whom only `anonymous` routes take. A bad
 * token: 401 at once, whatever the route, counted by reason. No header is ever believed: who
 * the caller is comes from a signature this service checked itself.
 */
export function authenticate(verifier: CallerVerifier, metrics: Metrics): RequestHandler {
  const refused = tokensRefusedCounter(metrics);
  return async (req, _res, next) => {
    const token = bearerToken(req);
    if (token === undefined) {
      next();
      return;
    }
    try {
      callers.set(req, await verifier.verify(token));
    } catch (error) {
      if (error instanceof TokenRefusedError) {
        refused.inc({ reason: error.reason });
        req.log.info({ reason: error.reason, detail: String(error.cause) }, 'token refused');
      }
      throw error;
    }
    next();
  };
}

/**
 * Enforces a route's declared access: `user` needs a verified user (401 without a token, 403
 * for a service), `admin` also the admin role, `{ services }` one of the named services.
 */
export const authorizeCaller: Authorize = (req, access: RouteAccess) => {
  if (access === 'anonymous') return;
  const caller = callers.get(req);
  if (!caller) throw tokenRequired();
  if (typeof access === 'object') {
    if (caller.kind !== 'service' || !access.services.includes(caller.service)) {
      throw callerNotAllowed(access.services);
    }
    return;
  }
  if (caller.kind !== 'user') throw callerNotAllowed(['signed-in users']);
  if (access === 'admin' && !isAdmin(caller)) throw adminRequired();
};

/** Who acted, for logs and audit fields: the user id, `service:<name>`, or undefined. */
export function actorOf(req: object): string | undefined {
  const caller = callers.get(req);
  if (!caller) return undefined;
  return caller.kind === 'user' ? caller.userId : `service:${caller.service}`;
}
