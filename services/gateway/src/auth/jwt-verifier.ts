import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { hasAudience, identityOf, type Identity } from '../domain/identity.js';
import { invalidToken, jwksUnavailable, type TokenRefusal } from '../errors.js';

/** What the verifier checks a token against. */
export interface JwtVerifierOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** The allow-list; a token signed with anything else (`none`, HS256 …) is refused. */
  algorithms: readonly string[];
  /** Cognito's `token_use` every token must carry (`access` or `id`); unchecked when absent. */
  tokenUse?: 'access' | 'id';
  /** Bound on one JWKS fetch, in ms. */
  jwksTimeoutMs?: number;
}

/** Verifies bearer tokens. */
export interface JwtVerifier {
  /** The identity of a valid token; throws 401 INVALID_TOKEN, or 503 when the JWKS is unreachable. */
  verify(token: string): Promise<Identity>;
}

/** Errors that mean "we could not check", not "the token is bad". */
function isJwksOutage(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return true;
  }
  // A refused connection surfaces as fetch's TypeError, outside jose's own error classes.
  return !(error instanceof joseErrors.JOSEError);
}

/** What a jose verification error says about the token. */
function refusalOf(error: unknown): TokenRefusal {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return error.claim === 'iss' ? 'issuer' : 'claims';
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof joseErrors.JOSENotSupported) return 'algorithm';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown_key';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature';
  return 'malformed';
}

/**
 * A verifier over the issuer's remote JWKS (fetched on first use, cached, refetched on an
 * unknown `kid`, so key rotation needs no restart). Checks signature, algorithm, issuer,
 * expiry (required) and audience; the audience by hand, see {@link hasAudience}, because jose's
 * `audience` option reads only `aud` and Cognito access tokens carry `client_id` instead.
 */
export function jwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    timeoutDuration: options.jwksTimeoutMs ?? 2000,
  });
  return {
    verify: async (token) => {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: options.issuer,
          algorithms: [...options.algorithms],
          requiredClaims: ['exp', 'sub'],
          clockTolerance: 5,
        }));
      } catch (error) {
        if (isJwksOutage(error)) throw jwksUnavailable(error);
        throw invalidToken(refusalOf(error), error);
      }
      if (!hasAudience(payload, options.audience)) throw invalidToken('audience');
      if (options.tokenUse !== undefined && payload.token_use !== options.tokenUse) {
        throw invalidToken('token_use');
      }
      const identity = identityOf(payload);
      if (!identity) throw invalidToken('claims');
      return identity;
    },
  };
}
