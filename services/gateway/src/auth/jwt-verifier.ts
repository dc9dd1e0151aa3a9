import { createCallerVerifier, invalidToken, type UserTokenOptions } from '@emporium/platform';
import type { Identity } from '../domain/identity.js';

/** What the verifier checks a token against: the users' identity provider. */
export type JwtVerifierOptions = UserTokenOptions & {
  /** Bound on one JWKS fetch, in ms. */
  jwksTimeoutMs?: number;
};

/** Verifies bearer tokens. */
export interface JwtVerifier {
  /** The identity of a valid token; throws 401 INVALID_TOKEN, or 503 when the JWKS is unreachable. */
  verify(token: string): Promise<Identity>;
}

/**
 * The platform's verifier, for users only: the gateway is the public edge, where no workload
 * token is ever good (a service calls another directly, never through the gateway).
 */
export function jwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const { jwksTimeoutMs, ...users } = options;
  const callers = createCallerVerifier({
    users,
    ...(jwksTimeoutMs === undefined ? {} : { jwksTimeoutMs }),
  });
  return {
    verify: async (token) => {
      const caller = await callers.verify(token);
      // Unreachable without a workloads' issuer; kept so a change there fails closed.
      if (caller.kind !== 'user') throw invalidToken('issuer');
      return { userId: caller.userId, roles: caller.roles, token };
    },
  };
}
