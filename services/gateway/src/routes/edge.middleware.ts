import {
  bearerToken,
  errors,
  type Authorize,
  type Logger,
  type RateLimitDecision,
} from '@emporium/platform';
import type { Request, RequestHandler } from 'express';
import type { JwtVerifier } from '../auth/jwt-verifier.js';
import { isAdmin, type Identity } from '../domain/identity.js';
import { adminRequired, TokenRefusedError, tokenRequired } from '../errors.js';
import type { GatewayMetrics, RateLimitScope } from '../gateway.metrics.js';
import type { RateLimitsRepository } from '../repositories/rate-limits.repository.js';

/** The verified identity of each request, kept off `res.locals` so it stays typed. */
const identities = new WeakMap<object, Identity>();

/** The verified caller of a request, if it presented a valid token. */
export function callerOf(req: object): Identity | undefined {
  return identities.get(req);
}

/** The verified caller of a route the edge already required a token for. */
export function requireCaller(req: object): Identity {
  const identity = identities.get(req);
  // Unreachable behind `authenticate`; kept so a route registered outside /api fails closed.
  if (!identity) throw tokenRequired();
  return identity;
}

function isApi(req: Request): boolean {
  return req.path === '/api' || req.path.startsWith('/api/');
}

/**
 * Enforces the access each route declares: `user` needs a verified token (401 without), `admin`
 * also the admin role (403 without). Runs at the matched route, after {@link edgeMiddleware}.
 */
export function authorizeRoute(metrics: GatewayMetrics): Authorize {
  return (req, access) => {
    if (access === 'anonymous') return;
    const identity = identities.get(req);
    if (!identity) {
      metrics.rejected.inc({ reason: 'unauthenticated' });
      throw tokenRequired();
    }
    if (access === 'admin' && !isAdmin(identity)) {
      metrics.rejected.inc({ reason: 'forbidden' });
      throw adminRequired();
    }
  };
}

/**
 * Takes a token from a bucket, or throws the 429 problem when it is empty. Redis down → let the
 * request through. The limits protect the services from abuse; an outage of the limiter's store
 * must not become an outage of the whole store front, and the services have their own timeouts
 * and the mesh its circuit breakers. Counted, and logged.
 */
export async function takeOrRefuse(
  scope: RateLimitScope,
  take: () => Promise<RateLimitDecision>,
  metrics: GatewayMetrics,
  logger: Logger,
): Promise<void> {
  let decision;
  try {
    decision = await take();
  } catch (error) {
    metrics.rateLimitErrors.inc({ scope });
    logger.warn({ err: error, scope }, 'rate limiter unavailable; failing open');
    return;
  }
  if (!decision.allowed) {
    metrics.rejected.inc({ reason: 'rate_limited' });
    throw errors.rateLimited(decision.retryAfterSeconds);
  }
}

/** Options of {@link edgeMiddleware}. */
export interface EdgeOptions {
  verifier: JwtVerifier;
  rateLimits: RateLimitsRepository;
  metrics: GatewayMetrics;
  logger: Logger;
}

/**
 * The edge, in order: the per-IP limit (before any token work, so a flood of forged tokens
 * costs no signature checks), then authentication of `/api/*`, then the per-user limit. Each
 * route's own `access` is enforced where it matched ({@link authorizeRoute}).
 */
export function edgeMiddleware(options: EdgeOptions): RequestHandler[] {
  const { verifier, rateLimits, metrics, logger } = options;

  const limit = (scope: 'user' | 'ip', take: () => Promise<RateLimitDecision>) =>
    takeOrRefuse(scope, take, metrics, logger);

  const ipLimit: RequestHandler = async (req, _res, next) => {
    await limit('ip', () => rateLimits.takeForIp(req.ip ?? req.socket.remoteAddress ?? 'unknown'));
    next();
  };

  /**
   * Who the caller is: the identity of a valid bearer token, or nobody without one. A token
   * that is there but bad is refused at once, whatever the route; whether nobody may call the
   * route is each route's own declaration ({@link authorizeRoute}).
   */
  const authenticate: RequestHandler = async (req, _res, next) => {
    const token = isApi(req) ? bearerToken(req) : undefined;
    if (token === undefined) {
      next();
      return;
    }
    try {
      identities.set(req, await verifier.verify(token));
    } catch (error) {
      if (error instanceof TokenRefusedError) {
        metrics.rejected.inc({ reason: 'unauthenticated' });
        metrics.tokensRefused.inc({ reason: error.reason });
        req.log.info({ reason: error.reason, detail: String(error.cause) }, 'token refused');
      }
      throw error;
    }
    next();
  };

  const userLimit: RequestHandler = async (req, _res, next) => {
    const identity = identities.get(req);
    if (identity) await limit('user', () => rateLimits.takeForUser(identity.userId));
    next();
  };

  return [ipLimit, authenticate, userLimit];
}
