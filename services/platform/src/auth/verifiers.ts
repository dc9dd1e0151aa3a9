import { readFile } from 'node:fs/promises';
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import { hasAudience, rolesOf, userIdOf, type Claims } from './claims.js';
import { invalidToken, jwksUnavailable, type TokenRefusal } from './token-errors.js';

/** A caller whose token verified: a user (through the gateway or not) or another service. */
export type Caller =
  | {
      readonly kind: 'user';
      readonly userId: string;
      /** Lower-case role names. */
      readonly roles: readonly string[];
    }
  | {
      readonly kind: 'service';
      /** The calling service's name, e.g. `orders`. */
      readonly service: string;
    };

/** The role that may act for anyone and change the catalogue and stock. */
export const ADMIN_ROLE = 'admin';

/** The users' identity provider (Cognito, any OIDC issuer, or the gateway's dev issuer). */
export interface UserTokenOptions {
  jwksUrl: string;
  issuer: string;
  /** The `aud` (or Cognito access tokens' `client_id`) every token must carry. */
  audience: string;
  /** The allow-list; a token signed with anything else (`none`, HS256 …) is refused. */
  algorithms: readonly string[];
  /** Cognito's `token_use` every token must carry (`access` or `id`); unchecked when absent. */
  tokenUse?: 'access' | 'id' | undefined;
}

/**
 * The workloads' issuer: Kubernetes service account tokens (projected with this service as
 * audience), or the local stack's stand-in that mints the same shape.
 */
export interface ServiceTokenOptions {
  jwksUrl: string;
  issuer: string;
  /** This service's own name: a workload token is only good for the service it names. */
  audience: string;
  /**
   * The subject before the calling service's name, e.g. `system:serviceaccount:shop:emporium-`
   * for the service account `emporium-orders` in namespace `shop`.
   */
  subjectPrefix: string;
  algorithms: readonly string[];
  /**
   * A token file sent as bearer with each JWKS fetch: the API server serves its keys
   * (`/openid/v1/jwks`) to authenticated service accounts only.
   */
  jwksBearerFile?: string | undefined;
}

/** Options of {@link createCallerVerifier}. */
export interface CallerVerifierOptions {
  users: UserTokenOptions;
  services?: ServiceTokenOptions | undefined;
  /** Bound on one JWKS fetch, in ms. */
  jwksTimeoutMs?: number;
}

/** Verifies bearer tokens of users and services. */
export interface CallerVerifier {
  /** The caller of a valid token; throws 401 INVALID_TOKEN, or 503 when a JWKS is unreachable. */
  verify(token: string): Promise<Caller>;
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
 * An issuer's remote JWKS: fetched on first use, cached, refetched on an unknown `kid`, so key
 * rotation needs no restart.
 */
function remoteKeys(url: string, timeoutMs: number, bearerFile?: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), {
    timeoutDuration: timeoutMs,
    ...(bearerFile === undefined
      ? {}
      : {
          // Read at each fetch: the kubelet rotates the projected token file under us.
          [customFetch]: async (input: string | URL | Request, init?: RequestInit) => {
            const token = (await readFile(bearerFile, 'utf8')).trim();
            const headers = new Headers(init?.headers);
            headers.set('authorization', `Bearer ${token}`);
            return fetch(input, { ...init, headers });
          },
        }),
  });
}

/** Signature, algorithm, issuer and expiry (required); the claims, or a refusal thrown. */
async function verifiedClaims(
  token: string,
  keys: JWTVerifyGetKey,
  issuer: string,
  algorithms: readonly string[],
): Promise<Claims> {
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer,
      algorithms: [...algorithms],
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 5,
    });
    return payload;
  } catch (error) {
    if (isJwksOutage(error)) throw jwksUnavailable(error);
    throw invalidToken(refusalOf(error), error);
  }
}

/** A service name as the chart and the stack name them (`orders`, `inventory`). */
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Verifies callers' bearer tokens against the issuer the token names (`iss`, read before the
 * signature only to pick which keys to check it with): the users' identity provider, or the
 * workloads' issuer. Anything else is refused. The audience is checked by hand for users, see
 * {@link hasAudience}, because jose's `audience` option reads only `aud`; for workloads it must
 * be this service, so a token minted for inventory is no good at cart.
 */
export function createCallerVerifier(options: CallerVerifierOptions): CallerVerifier {
  const timeout = options.jwksTimeoutMs ?? 2000;
  const { users, services } = options;
  const userKeys = remoteKeys(users.jwksUrl, timeout);
  const serviceKeys = services && remoteKeys(services.jwksUrl, timeout, services.jwksBearerFile);

  const verifyUser = async (token: string): Promise<Caller> => {
    const claims = await verifiedClaims(token, userKeys, users.issuer, users.algorithms);
    if (!hasAudience(claims, users.audience)) throw invalidToken('audience');
    if (users.tokenUse !== undefined && claims.token_use !== users.tokenUse) {
      throw invalidToken('token_use');
    }
    const userId = userIdOf(claims);
    if (userId === null) throw invalidToken('claims');
    return { kind: 'user', userId, roles: rolesOf(claims) };
  };

  return {
    verify: async (token) => {
      let issuer: unknown;
      try {
        issuer = decodeJwt(token).iss;
      } catch (error) {
        throw invalidToken('malformed', error);
      }
      if (issuer === users.issuer) return verifyUser(token);
      if (!services || !serviceKeys || issuer !== services.issuer) throw invalidToken('issuer');
      const claims = await verifiedClaims(token, serviceKeys, services.issuer, services.algorithms);
      if (!hasAudience(claims, services.audience) || claims.aud === undefined) {
        throw invalidToken('audience');
      }
      const sub = typeof claims.sub === 'string' ? claims.sub : '';
      const service = sub.startsWith(services.subjectPrefix)
        ? sub.slice(services.subjectPrefix.length)
        : '';
      if (!SERVICE_NAME.test(service)) throw invalidToken('claims');
      return { kind: 'service', service };
    },
  };
}

/** Whether the caller is a user with the admin role. */
export function isAdmin(caller: Caller | undefined): boolean {
  return caller?.kind === 'user' && caller.roles.includes(ADMIN_ROLE);
}

/**
 * Whether the caller may read or change the data of `userId`: the user themself, or an admin.
 * Nobody else: not an anonymous request, not another service.
 */
export function mayActFor(caller: Caller | undefined, userId: string): boolean {
  if (caller?.kind !== 'user') return false;
  return caller.userId === userId || isAdmin(caller);
}
