import { resolve } from 'node:path';
import type { Routes } from '@emporium/platform';
import express, { type RequestHandler } from 'express';
import { z } from 'zod';
import type { Config } from '../config.js';
import { BROWSER_TRACES_PATH } from './browser-traces.routes.js';

/** Paths that are never the storefront's pages: the API, the dev issuer, the span intake. */
const NOT_PAGES = /^\/(api|dev|otlp)(\/|$)/;

/** What the storefront reads at start: deploy-time settings, never baked into the build. */
export const WebConfigSchema = z
  .object({
    auth: z.discriminatedUnion('mode', [
      z.object({ mode: z.literal('dev') }),
      z.object({
        mode: z.literal('oidc'),
        authority: z.string(),
        clientId: z.string(),
        scope: z.string(),
      }),
      z.object({ mode: z.literal('none') }),
    ]),
    tracesUrl: z.string().nullable(),
    environment: z.string(),
  })
  .meta({ id: 'WebConfig' });

/** The storefront's settings from the gateway's own: how to sign in, where spans go. */
export function webConfig(config: Readonly<Config>): z.output<typeof WebConfigSchema> {
  const auth =
    config.WEB_OIDC_AUTHORITY && config.WEB_OIDC_CLIENT_ID
      ? {
          mode: 'oidc' as const,
          authority: config.WEB_OIDC_AUTHORITY,
          clientId: config.WEB_OIDC_CLIENT_ID,
          scope: config.WEB_OIDC_SCOPE,
        }
      : config.DEV_ISSUER_ENABLED
        ? { mode: 'dev' as const }
        : { mode: 'none' as const };
  return {
    auth,
    tracesUrl: browserTracesEnabled(config) ? BROWSER_TRACES_PATH : null,
    environment: config.DEPLOYMENT_ENVIRONMENT,
  };
}

/** Whether the gateway takes the browser's spans: traces on and not turned off for browsers. */
export function browserTracesEnabled(config: Readonly<Config>): boolean {
  return config.TELEMETRY_ENABLED && config.BROWSER_TRACES_ENABLED;
}

/**
 * The storefront pages' Content-Security-Policy: scripts, styles and images from this origin
 * only (Vite's build has no inline script), calls to this origin and the OIDC provider.
 */
export function webContentSecurityPolicy(config: Readonly<Config>): string {
  const connect = new Set(["'self'"]);
  if (config.WEB_OIDC_AUTHORITY) connect.add(new URL(config.WEB_OIDC_AUTHORITY).origin);
  for (const url of config.WEB_CONNECT_SRC) connect.add(new URL(url).origin);
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${[...connect].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * `GET /config.json`, and, with WEB_ROOT, the built storefront: its files (hashed assets cached
 * for a year, the rest revalidated) and `index.html` for any other page a browser asks for
 * (the SPA's own routes: `/products/<id>`, `/orders/<id>`…). Registered before the edge's
 * rate limits: static files cost no Redis round trip, as from a CDN.
 */
export function webRoutes(routes: Routes, config: Readonly<Config>): void {
  const settings = webConfig(config);
  routes.get(
    '/config.json',
    {
      access: 'anonymous',
      summary: 'The storefront’s settings (deploy-time: sign-in and tracing)',
      description:
        'How the storefront signs in (`dev`: the local dev issuer; `oidc`: authorization code with PKCE against `authority`) and where it sends its spans.',
      responses: { 200: WebConfigSchema },
    },
    (_req, res) => {
      res.set('cache-control', 'no-cache').json(settings);
    },
  );
  if (config.WEB_ROOT === undefined) return;
  const root = resolve(config.WEB_ROOT);
  const csp = webContentSecurityPolicy(config);
  const files = express.static(root, {
    index: false,
    redirect: false,
    dotfiles: 'ignore',
    setHeaders: (res, path) => {
      res.setHeader('content-security-policy', csp);
      res.setHeader(
        'cache-control',
        path.startsWith(`${root}/assets/`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  const page: RequestHandler = (req, res, next) => {
    const isPage =
      (req.method === 'GET' || req.method === 'HEAD') &&
      !NOT_PAGES.test(req.path) &&
      !/\.[a-z0-9]+$/i.test(req.path) &&
      req.accepts(['html', 'json']) === 'html';
    if (!isPage) {
      next();
      return;
    }
    res.setHeader('content-security-policy', csp);
    res.setHeader('cache-control', 'no-cache');
    res.sendFile('index.html', { root }, (err) => {
      if (err) next(err);
    });
  };
  routes.use(files, page);
}
