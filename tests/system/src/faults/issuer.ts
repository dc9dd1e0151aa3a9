import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/** A token issuer outside the stack, as Cognito is on EKS: its keys outlive every restart. */
export interface TestIssuer {
  /** The gateway's JWT_* variables for this issuer (and its dev issuer off). */
  readonly gatewayEnv: Record<string, string>;
  /** A bearer token for `user`, valid for an hour. */
  token(user: string): Promise<string>;
  stop(): Promise<void>;
}

const ISSUER = 'emporium-faults-issuer';
const AUDIENCE = 'emporium';

/**
 * Serves a JWKS on 127.0.0.1 and signs tokens with its key. The gateway's own dev issuer makes
 * a new key each time it starts, so every token would die with a restarted gateway; a shopper
 * of a real deployment keeps its token across a gateway's restarts, and so do these.
 */
export async function startTestIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const body = JSON.stringify({ keys: [jwk] });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    gatewayEnv: {
      DEV_ISSUER_ENABLED: 'false',
      JWT_JWKS_URL: `http://127.0.0.1:${String(port)}/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    },
    token: (user) =>
      new SignJWT({ roles: [] })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setSubject(user)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime('1h')
        .sign(privateKey),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
