import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/**
 * The names the dev issuer mints tokens for: any lower-case demo name (`alice`, `shopper-17`),
 * so loadgen can be many shoppers; `admin` alone gets the admin role.
 */
export const DEV_USER = /^[a-z][a-z0-9-]{0,62}$/;

/** The demo user with the admin role. */
export const DEV_ADMIN = 'admin';

/** A minted token, shaped like an OAuth 2.0 token response. */
export interface DevToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** A local stand-in for Cognito: one RS256 key made at start, its JWKS, and demo tokens. */
export interface DevIssuer {
  jwks(): { keys: JWK[] };
  /** A token for `user`, valid for `ttlSeconds` (the issuer's default lifetime otherwise). */
  mint(user: string, ttlSeconds?: number): Promise<DevToken>;
}

/** Options of {@link createDevIssuer}. */
export interface DevIssuerOptions {
  issuer: string;
  audience: string;
  /** Token lifetime in seconds. */
  ttlSeconds?: number;
}

/**
 * Creates the dev issuer. The key lives only in this process, so tokens die with it: that is
 * the point, nothing it mints can be replayed against a shared environment.
 */
export async function createDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  const ttl = options.ttlSeconds ?? 3600;
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return {
    jwks: () => ({ keys: [jwk] }),
    mint: async (user, ttlSeconds = ttl) => {
      const token = await new SignJWT({ roles: user === DEV_ADMIN ? ['admin'] : [] })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setSubject(user)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime(`${String(ttlSeconds)}s`)
        .sign(privateKey);
      return { access_token: token, token_type: 'Bearer', expires_in: ttlSeconds };
    },
  };
}
