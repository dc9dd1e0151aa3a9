import { z } from 'zod';
import { envVar } from '../config/config.js';
import {
  createCallerVerifier,
  type CallerVerifier,
  type CallerVerifierOptions,
} from './verifiers.js';

/** The JWS algorithms a token may be signed with (asymmetric only: no service holds a secret). */
export const JWT_ALGORITHM = z.enum([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]);

const algorithms = (fallback: z.output<typeof JWT_ALGORITHM>[]) =>
  envVar
    .list()
    .pipe(z.array(JWT_ALGORITHM, { error: `expected ${JWT_ALGORITHM.options.join(', ')}` }))
    .default(fallback);

/**
 * The variables of every service that checks who calls it: the users' identity provider (the
 * same one the gateway checks, since the gateway passes the user's token on) and the
 * workloads' issuer (Kubernetes service account tokens).
 */
export const authConfigShape = {
  /** The users' issuer's JWKS, e.g. Cognito's `https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json`. */
  JWT_JWKS_URL: envVar.url(),
  /** The `iss` every user token must carry (Cognito: `https://cognito-idp.<region>.amazonaws.com/<pool>`). */
  JWT_ISSUER: z.string().min(1),
  /** The `aud` (ID tokens, most issuers) or Cognito `client_id` (access tokens) a user token must carry. */
  JWT_AUDIENCE: z.string().min(1),
  /**
   * Fetch a JWKS over plain http from a host that is not loopback: only for a dev cluster's
   * in-cluster issuer (kind's gateway dev issuer), never where the network between can be reached.
   */
  JWT_JWKS_ALLOW_HTTP: envVar.bool().default(false),
  /**
   * Cognito's `token_use` a token must carry: `access` (what a web client sends) or `id`. Unset
   * for issuers without the claim; set it with Cognito, so an ID token is not taken for access.
   */
  JWT_TOKEN_USE: z.enum(['access', 'id']).optional(),
  /** Comma-separated allow-list of the user tokens' signature algorithms. */
  JWT_ALGORITHMS: algorithms(['RS256']),
  /**
   * The workloads' issuer: the cluster's service account issuer (`kubectl get --raw
   * /.well-known/openid-configuration`), on EKS `https://oidc.eks.<region>.amazonaws.com/id/<id>`.
   * Unset: no service may call this one as a service (routes for services answer 401).
   */
  SERVICE_TOKEN_ISSUER: z.string().min(1).optional(),
  /** The workloads' JWKS: `<issuer>/keys` on EKS, `https://kubernetes.default.svc/openid/v1/jwks` in-cluster. */
  SERVICE_TOKEN_JWKS_URL: envVar.url().optional(),
  /** A token sent with each fetch of SERVICE_TOKEN_JWKS_URL (the API server wants one). */
  SERVICE_TOKEN_JWKS_BEARER_FILE: z.string().min(1).optional(),
  /** The token subject before a calling service's name: `system:serviceaccount:<namespace>:<release>-`. */
  SERVICE_TOKEN_SUBJECT_PREFIX: z.string().min(1).default('system:serviceaccount:emporium:'),
  /** Comma-separated allow-list of the workload tokens' algorithms (Kubernetes signs RS256). */
  SERVICE_TOKEN_ALGORITHMS: algorithms(['RS256', 'ES256']),
  /** Where this service's own tokens for the services it calls are, one file per audience. */
  SERVICE_TOKEN_DIR: z.string().min(1).optional(),
  /** `production` in the images (services/Dockerfile): http JWKS URLs refused. */
  NODE_ENV: z.string().optional(),
};

/** The parsed auth variables. */
export interface AuthConfig {
  JWT_JWKS_URL: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  JWT_JWKS_ALLOW_HTTP: boolean;
  JWT_TOKEN_USE?: 'access' | 'id' | undefined;
  JWT_ALGORITHMS: readonly string[];
  SERVICE_TOKEN_ISSUER?: string | undefined;
  SERVICE_TOKEN_JWKS_URL?: string | undefined;
  SERVICE_TOKEN_JWKS_BEARER_FILE?: string | undefined;
  SERVICE_TOKEN_SUBJECT_PREFIX: string;
  SERVICE_TOKEN_ALGORITHMS: readonly string[];
  SERVICE_TOKEN_DIR?: string | undefined;
  NODE_ENV?: string | undefined;
}

/** Loopback hosts, where http cannot be intercepted on the way: local issuers and tests. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether keys may be fetched from `url`: https, or http to a loopback host outside production. */
export function trustedJwksUrl(url: URL, production: boolean): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && !production && LOOPBACK.has(url.hostname);
}

/**
 * A schema refinement (the gateway's too, whose JWT_* may be its dev issuer's): each JWKS URL is https (or loopback http outside production, or any
 * http with JWT_JWKS_ALLOW_HTTP), and the workloads' issuer comes with its JWKS.
 */
export function checkAuth(
  env: Pick<
    Partial<AuthConfig>,
    | 'JWT_JWKS_URL'
    | 'JWT_JWKS_ALLOW_HTTP'
    | 'SERVICE_TOKEN_ISSUER'
    | 'SERVICE_TOKEN_JWKS_URL'
    | 'NODE_ENV'
  >,
  ctx: z.RefinementCtx,
): void {
  const production = env.NODE_ENV === 'production';
  for (const name of ['JWT_JWKS_URL', 'SERVICE_TOKEN_JWKS_URL'] as const) {
    const value = env[name];
    if (value === undefined) continue;
    if (!trustedJwksUrl(new URL(value), production) && !env.JWT_JWKS_ALLOW_HTTP) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message:
          'expected an https:// URL (keys fetched over http can be swapped on the way); http:// ' +
          'is taken for a loopback host outside production, or with JWT_JWKS_ALLOW_HTTP=true',
      });
    }
  }
  if ((env.SERVICE_TOKEN_ISSUER === undefined) !== (env.SERVICE_TOKEN_JWKS_URL === undefined)) {
    const missing =
      env.SERVICE_TOKEN_ISSUER === undefined ? 'SERVICE_TOKEN_ISSUER' : 'SERVICE_TOKEN_JWKS_URL';
    ctx.addIssue({
      code: 'custom',
      path: [missing],
      message: 'SERVICE_TOKEN_ISSUER and SERVICE_TOKEN_JWKS_URL go together',
    });
  }
}

/** The verifier options of a parsed config, for the service called `service`. */
export function callerVerifierOptions(env: AuthConfig, service: string): CallerVerifierOptions {
  return {
    users: {
      jwksUrl: env.JWT_JWKS_URL,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      algorithms: env.JWT_ALGORITHMS,
      tokenUse: env.JWT_TOKEN_USE,
    },
    services:
      env.SERVICE_TOKEN_ISSUER !== undefined && env.SERVICE_TOKEN_JWKS_URL !== undefined
        ? {
            jwksUrl: env.SERVICE_TOKEN_JWKS_URL,
            issuer: env.SERVICE_TOKEN_ISSUER,
            audience: service,
            subjectPrefix: env.SERVICE_TOKEN_SUBJECT_PREFIX,
            algorithms: env.SERVICE_TOKEN_ALGORITHMS,
            jwksBearerFile: env.SERVICE_TOKEN_JWKS_BEARER_FILE,
          }
        : undefined,
  };
}

/** The verifier of the callers of the service called `service`, from its parsed config. */
export function callersFor(env: AuthConfig, service: string): CallerVerifier {
  return createCallerVerifier(callerVerifierOptions(env, service));
}
