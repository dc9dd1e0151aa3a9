import {
  baseConfigSchema,
  envVar,
  checkAuth,
  JWT_ALGORITHM,
  loadConfigOrExit,
  redisConfigShape,
  upstreamConfigShape,
  type Environment,
} from '@emporium/platform';
import { z } from 'zod';

/** Every variable the gateway reads, before the dev-issuer defaults are filled in. */
const rawConfigSchema = baseConfigSchema.extend({
  ...redisConfigShape,
  UPSTREAM_CATALOG_URL: envVar.url(),
  UPSTREAM_CART_URL: envVar.url(),
  UPSTREAM_INVENTORY_URL: envVar.url(),
  UPSTREAM_ORDERS_URL: envVar.url(),
  UPSTREAM_NOTIFICATIONS_URL: envVar.url(),
  UPSTREAM_SHIPPING_URL: envVar.url(),
  UPSTREAM_PAYMENTS_URL: envVar.url(),
  ...upstreamConfigShape,
  /** Per-attempt timeout of upstream calls, in ms (longer: orders calls three services itself). */
  UPSTREAM_TIMEOUT_MS: upstreamConfigShape.UPSTREAM_TIMEOUT_MS.default(3000),
  /** The issuer's JWKS, e.g. Cognito's `https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json`. */
  JWT_JWKS_URL: envVar.url().optional(),
  /** The `iss` every token must carry (Cognito: `https://cognito-idp.<region>.amazonaws.com/<pool>`). */
  JWT_ISSUER: z.string().min(1).optional(),
  /** The `aud` (ID tokens, most issuers) or Cognito `client_id` (access tokens) a token must carry. */
  JWT_AUDIENCE: z.string().min(1).optional(),
  /**
   * Fetch the JWKS over plain http from a host that is not loopback: only for a dev cluster's
   * in-cluster issuer (kind's dev-issuer pod), never where the network between can be reached.
   */
  JWT_JWKS_ALLOW_HTTP: envVar.bool().default(false),
  /**
   * Cognito's `token_use` a token must carry: `access` (what a web client sends) or `id`. Unset
   * for issuers without the claim; set it with Cognito, so an ID token is not taken for access.
   */
  JWT_TOKEN_USE: z.enum(['access', 'id']).optional(),
  /** Comma-separated allow-list of signature algorithms. */
  JWT_ALGORITHMS: envVar
    .list()
    .pipe(z.array(JWT_ALGORITHM, { error: `expected ${JWT_ALGORITHM.options.join(', ')}` }))
    .default(['RS256']),
  /** Serves a local issuer under /dev (JWKS + demo tokens); refused under NODE_ENV=production. */
  DEV_ISSUER_ENABLED: envVar.bool().default(false),
  /** `production` in the images (services/Dockerfile): the dev issuer and http JWKS refused. */
  NODE_ENV: z.string().optional(),
  RATE_LIMIT_USER_CAPACITY: envVar.int(1, 1_000_000).default(60),
  RATE_LIMIT_USER_REFILL_PER_SECOND: envVar.number(0.001, 1_000_000).default(20),
  RATE_LIMIT_IP_CAPACITY: envVar.int(1, 1_000_000).default(120),
  RATE_LIMIT_IP_REFILL_PER_SECOND: envVar.number(0.001, 1_000_000).default(40),
  /** Proxy hops in front of the gateway (ALB, Envoy) whose X-Forwarded-For is trusted for the client IP. */
  TRUST_PROXY: envVar.int(0, 10).default(0),
  /**
   * The built storefront (web/dist): served at `/` with an SPA fallback when set; unset, the
   * gateway is an API only (the storefront then lives on S3 + CloudFront, say).
   */
  WEB_ROOT: z.string().min(1).optional(),
  /** The OIDC provider the storefront signs in with (Cognito: the user pool's issuer URL). */
  WEB_OIDC_AUTHORITY: envVar.url().optional(),
  /** The storefront's public OIDC client id (authorization code with PKCE, no secret). */
  WEB_OIDC_CLIENT_ID: z.string().min(1).optional(),
  /** The scopes the storefront asks for. */
  WEB_OIDC_SCOPE: z.string().min(1).default('openid profile'),
  /**
   * Origins besides the gateway and the OIDC authority that the storefront's pages may call
   * (CSP connect-src), comma-separated, e.g. Cognito's hosted-UI domain for its token endpoint.
   */
  WEB_CONNECT_SRC: envVar
    .list()
    .pipe(z.array(z.url({ protocol: /^https?$/ })))
    .default([]),
  /** Traces on (the same variable the telemetry preload reads): browser spans are accepted too. */
  TELEMETRY_ENABLED: envVar.bool().default(true),
  /** The collector's OTLP/HTTP base URL (the preload's too); browser spans go to its /v1/traces. */
  OTEL_EXPORTER_OTLP_ENDPOINT: envVar.url().default('http://127.0.0.1:4318'),
  /** Accept the browser's spans at POST /otlp/v1/traces (needs TELEMETRY_ENABLED). */
  BROWSER_TRACES_ENABLED: envVar.bool().default(true),
  /** Largest OTLP/JSON body a browser may send, in bytes (413 above). */
  BROWSER_TRACES_MAX_BYTES: envVar.int(1024, 10_000_000).default(65_536),
  /** Browser span exports per client IP: bucket size (429 when empty)… */
  BROWSER_TRACES_CAPACITY: envVar.int(1, 1_000_000).default(30),
  /** …and its refill per second (a browser exports a batch every few seconds). */
  BROWSER_TRACES_REFILL_PER_SECOND: envVar.number(0.001, 1_000_000).default(1),
});

/** The issuer and audience of the local dev issuer. */
export const DEV_ISSUER = { issuer: 'emporium-dev-issuer', audience: 'emporium' } as const;

/**
 * The gateway's variables. The JWT_* trio is required unless the dev issuer is on; then each
 * defaults to the dev issuer's (its JWKS served by this very process on PORT).
 */
export const configSchema = rawConfigSchema
  .superRefine((env, ctx) => {
    const production = env.NODE_ENV === 'production';
    if (env.DEV_ISSUER_ENABLED && production) {
      ctx.addIssue({
        code: 'custom',
        path: ['DEV_ISSUER_ENABLED'],
        message:
          'must be false under NODE_ENV=production (the dev issuer signs a token for anyone)',
      });
    }
    checkAuth(env, ctx);
    if ((env.WEB_OIDC_AUTHORITY === undefined) !== (env.WEB_OIDC_CLIENT_ID === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.WEB_OIDC_AUTHORITY === undefined ? 'WEB_OIDC_AUTHORITY' : 'WEB_OIDC_CLIENT_ID'],
        message: 'WEB_OIDC_AUTHORITY and WEB_OIDC_CLIENT_ID go together',
      });
    }
    if (env.DEV_ISSUER_ENABLED) return;
    for (const name of ['JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE'] as const) {
      if (env[name] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'required unless DEV_ISSUER_ENABLED=true',
        });
      }
    }
  })
  .transform((env) => ({
    ...env,
    JWT_JWKS_URL:
      env.JWT_JWKS_URL ?? `http://127.0.0.1:${String(env.PORT)}/dev/.well-known/jwks.json`,
    JWT_ISSUER: env.JWT_ISSUER ?? DEV_ISSUER.issuer,
    JWT_AUDIENCE: env.JWT_AUDIENCE ?? DEV_ISSUER.audience,
  }));

/** The gateway's parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadGatewayConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('gateway', configSchema, env);
}
