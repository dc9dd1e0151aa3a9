import { AppError, errors } from '@emporium/platform';

/** The gateway's error codes, stable for clients. */
export const GatewayErrorCode = {
  /** No bearer token on a route that needs one. */
  TOKEN_REQUIRED: 'TOKEN_REQUIRED',
  /** A token that is malformed, forged, expired, or for another issuer/audience. */
  INVALID_TOKEN: 'INVALID_TOKEN',
  /** The route needs the `admin` role. */
  ADMIN_REQUIRED: 'ADMIN_REQUIRED',
  /** The issuer's JWKS could not be fetched, so no token can be checked right now. */
  JWKS_UNAVAILABLE: 'JWKS_UNAVAILABLE',
} as const;

/** 401 without a token; `WWW-Authenticate: Bearer` tells the client what to send (RFC 6750). */
export function tokenRequired(): AppError {
  return new AppError(GatewayErrorCode.TOKEN_REQUIRED, 401, 'A bearer token is required.', {
    headers: { 'www-authenticate': 'Bearer realm="emporium"' },
  });
}

/** 401 for a token that failed verification; the reason stays in the logs, not the answer. */
export function invalidToken(cause?: unknown): AppError {
  return new AppError(GatewayErrorCode.INVALID_TOKEN, 401, 'The bearer token is not valid.', {
    headers: { 'www-authenticate': 'Bearer realm="emporium", error="invalid_token"' },
    cause,
  });
}

/** 403 for a signed-in user without the admin role. */
export function adminRequired(): AppError {
  return new AppError(GatewayErrorCode.ADMIN_REQUIRED, 403, 'This needs the admin role.', {
    headers: { 'www-authenticate': 'Bearer realm="emporium", error="insufficient_scope"' },
  });
}

/** 503: the key set is unreachable, which is the issuer's outage, not the client's fault. */
export function jwksUnavailable(cause: unknown): AppError {
  const error = errors.unavailable('The token issuer cannot be reached.', 5, cause);
  return new AppError(GatewayErrorCode.JWKS_UNAVAILABLE, 503, error.message, {
    headers: error.headers,
    cause,
  });
}
