import { startTokenIssuer } from '../auth/token-issuer.js';

/** A token issuer outside the stack, as Cognito is on EKS: its keys outlive every restart. */
export interface TestIssuer {
  /**
   * The gateway's JWT_* variables for this issuer (and its dev issuer off); the stack gives the
   * same to every service, which verifies the tokens the gateway passes on.
   */
  readonly gatewayEnv: Record<string, string>;
  /** `Bearer <token>` of `user` (with `roles`), valid for an hour. */
  bearer(user: string, roles?: readonly string[]): Promise<string>;
  /** A bearer token for `user`, valid for an hour. */
  token(user: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The platform's local issuer as the users' identity provider. The gateway's own dev issuer
 * makes a new key each time it starts, so every token would die with a restarted gateway; a
 * shopper of a real deployment keeps its token across a gateway's restarts, and so do these.
 */
export async function startTestIssuer(): Promise<TestIssuer> {
  const issuer = await startTokenIssuer();
  const { JWT_JWKS_URL = '', JWT_ISSUER = '', JWT_AUDIENCE = '' } = issuer.env;
  return {
    gatewayEnv: { DEV_ISSUER_ENABLED: 'false', JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE },
    bearer: async (user, roles = []) => `Bearer ${await issuer.userToken(user, roles)}`,
    token: (user) => issuer.userToken(user),
    stop: () => issuer.stop(),
  };
}
