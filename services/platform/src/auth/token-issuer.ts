import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** Issuer names of {@link startTokenIssuer}'s two key sets. */
export const LOCAL_ISSUERS = {
  users: 'emporium-local-users',
  workloads: 'emporium-local-workloads',
  /** The `aud` of user tokens. */
  audience: 'emporium',
  /** What a workload token's subject starts with, as a service account's does in a cluster. */
  subjectPrefix: 'system:serviceaccount:emporium:',
} as const;

/** A local identity provider and service account issuer, for the stack and tests. */
export interface TokenIssuer {
  /** The JWT_* and SERVICE_TOKEN_* variables that make a service trust these issuers. */
  readonly env: Readonly<Record<string, string>>;
  /** A user's access token, valid for `ttlSeconds` (an hour by default). */
  userToken(userId: string, roles?: readonly string[], ttlSeconds?: number): Promise<string>;
  /** The workload token `service` presents to `audience`, as a projected one in a pod. */
  serviceToken(service: string, audience: string, ttlSeconds?: number): Promise<string>;
  /**
   * Writes `service`'s tokens for each audience into `<dir>/<audience>` (the layout of a
   * projected volume; what SERVICE_TOKEN_DIR points at), replacing each file atomically.
   */
  writeServiceTokens(
    dir: string,
    service: string,
    audiences: readonly string[],
    ttlSeconds?: number,
  ): Promise<void>;
  stop(): Promise<void>;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function signingKey(alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/**
 * Serves two JWKS on 127.0.0.1 (users' at `/users/jwks.json`, workloads' at
 * `/workloads/jwks.json`) and signs tokens with their keys: users' RS256 as an identity provider
 * would, workloads' RS256 shaped as Kubernetes service account tokens. The keys live as long as
 * the issuer, so tokens outlive the restart of any service.
 */
export async function startTokenIssuer(): Promise<TokenIssuer> {
  const users = await signingKey('RS256');
  const workloads = await signingKey('RS256');
  const bodies: Record<string, string> = {
    '/users/jwks.json': JSON.stringify({ keys: [users.jwk] }),
    '/workloads/jwks.json': JSON.stringify({ keys: [workloads.jwk] }),
  };
  const server = createServer((req, res) => {
    const body = bodies[req.url ?? ''];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const base = `http://127.0.0.1:${String(typeof address === 'object' && address ? address.port : 0)}`;

  const sign = (
    key: SigningKey,
    claims: Record<string, unknown>,
    subject: string,
    issuer: string,
    audience: string,
    ttlSeconds: number,
  ): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setSubject(subject)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(key.privateKey);

  const serviceToken = (service: string, audience: string, ttlSeconds = 3600): Promise<string> =>
    sign(
      workloads,
      {},
      `${LOCAL_ISSUERS.subjectPrefix}${service}`,
      LOCAL_ISSUERS.workloads,
      audience,
      ttlSeconds,
    );

  return {
    env: {
      JWT_JWKS_URL: `${base}/users/jwks.json`,
      JWT_ISSUER: LOCAL_ISSUERS.users,
      JWT_AUDIENCE: LOCAL_ISSUERS.audience,
      SERVICE_TOKEN_ISSUER: LOCAL_ISSUERS.workloads,
      SERVICE_TOKEN_JWKS_URL: `${base}/workloads/jwks.json`,
      SERVICE_TOKEN_SUBJECT_PREFIX: LOCAL_ISSUERS.subjectPrefix,
    },
    userToken: (userId, roles = [], ttlSeconds = 3600) =>
      sign(
        users,
        { roles: [...roles] },
        userId,
        LOCAL_ISSUERS.users,
        LOCAL_ISSUERS.audience,
        ttlSeconds,
      ),
    serviceToken,
    writeServiceTokens: async (dir, service, audiences, ttlSeconds) => {
      await mkdir(dir, { recursive: true });
      for (const audience of audiences) {
        const file = join(dir, audience);
        await writeFile(`${file}.tmp`, await serviceToken(service, audience, ttlSeconds));
        await rename(`${file}.tmp`, file);
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
