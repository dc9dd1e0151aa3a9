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

/**
 * Why a token was refused, the `reason` of `gateway_tokens_refused_total`: a fixed set, so the
 * label stays bounded whatever a client sends.
 */
export type TokenRefusal =
  /** Not a compact JWS/JWT at all, or not JSON inside. */
  | 'malformed'
  /** `alg` outside JWT_ALGORITHMS: `none`, or HS256 "signed" with the issuer's public key. */
  | 'algorithm'
  /** A `kid` the issuer's JWKS does not hold (checked again after a refetch). */
  | 'unknown_key'
  /** The signature does not verify: forged or tampered with. */
  | 'signature'
  | 'expired'
  | 'issuer'
  | 'audience'
  /** Cognito's `token_use` other than JWT_TOKEN_USE (an ID token where an access token is due). */
  | 'token_use'
  /** A required claim missing or unusable (`exp`, `sub`, a not-before in the future). */
  | 'claims';

/** A token that failed verification, and why (for the metric and the log, not the answer). */
export class TokenRefusedError extends AppError {
  constructor(
    readonly reason: TokenRefusal,
    cause?: unknown,
  ) {
    super(GatewayErrorCode.INVALID_TOKEN, 401, 'The bearer token is not valid.', {
      headers: { 'www-authenticate': 'Bearer realm="emporium", error="invalid_token"' },
      cause,
    });
  }
}

/** 401 for a token that failed verification; the reason stays in the logs, not the answer. */
export function invalidToken(reason: TokenRefusal, cause?: unknown): TokenRefusedError {
  return new TokenRefusedError(reason, cause);
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
