import { AppError, errors, PlatformErrorCode } from '../errors.js';

/** The `WWW-Authenticate` realm of every 401 and 403 (RFC 6750). */
const REALM = 'Bearer realm="emporium"';

/** 401 without a token; `WWW-Authenticate: Bearer` tells the client what to send (RFC 6750). */
export function tokenRequired(): AppError {
  return new AppError(PlatformErrorCode.TOKEN_REQUIRED, 401, 'A bearer token is required.', {
    headers: { 'www-authenticate': REALM },
  });
}

/**
 * Why a token was refused, the `reason` label of the refusal metrics: a fixed set, so the label
 * stays bounded whatever a client sends.
 */
export type TokenRefusal =
  /** Not a compact JWS/JWT at all, or not JSON inside. */
  | 'malformed'
  /** `alg` outside the allow-list: `none`, or HS256 "signed" with the issuer's public key. */
  | 'algorithm'
  /** A `kid` the issuer's JWKS does not hold (checked again after a refetch). */
  | 'unknown_key'
  /** The signature does not verify: forged or tampered with. */
  | 'signature'
  | 'expired'
  /** An `iss` that is neither the users' issuer nor the workloads' one. */
  | 'issuer'
  | 'audience'
  /** Cognito's `token_use` other than JWT_TOKEN_USE (an ID token where an access token is due). */
  | 'token_use'
  /** A required claim missing or unusable (`exp`, `sub`, a not-before in the future). */
  | 'claims';

/** The refusal reasons, for metrics that pre-create their series. */
export const TOKEN_REFUSALS: readonly TokenRefusal[] = [
  'malformed',
  'algorithm',
  'unknown_key',
  'signature',
  'expired',
  'issuer',
  'audience',
  'token_use',
  'claims',
];

/** A token that failed verification, and why (for the metric and the log, not the answer). */
export class TokenRefusedError extends AppError {
  constructor(
    readonly reason: TokenRefusal,
    cause?: unknown,
  ) {
    super(PlatformErrorCode.INVALID_TOKEN, 401, 'The bearer token is not valid.', {
      headers: { 'www-authenticate': `${REALM}, error="invalid_token"` },
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
  return new AppError(PlatformErrorCode.ADMIN_REQUIRED, 403, 'This needs the admin role.', {
    headers: { 'www-authenticate': `${REALM}, error="insufficient_scope"` },
  });
}

/** 403 for a verified caller that is not one of the services a route is for. */
export function callerNotAllowed(services: readonly string[]): AppError {
  return new AppError(
    PlatformErrorCode.CALLER_NOT_ALLOWED,
    403,
    `Only ${services.join(', ')} may call this.`,
    { headers: { 'www-authenticate': `${REALM}, error="insufficient_scope"` } },
  );
}

/** 503: the key set is unreachable, which is the issuer's outage, not the client's fault. */
export function jwksUnavailable(cause: unknown): AppError {
  const error = errors.unavailable('The token issuer cannot be reached.', 5, cause);
  return new AppError(PlatformErrorCode.JWKS_UNAVAILABLE, 503, error.message, {
    headers: error.headers,
    cause,
  });
}
