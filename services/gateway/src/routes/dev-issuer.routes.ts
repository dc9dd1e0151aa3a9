import type { Routes } from '@emporium/platform';
import { z } from 'zod';
import { DEV_USER, type DevIssuer } from '../dev-issuer/dev-issuer.js';

/** `/dev/*`: the local issuer's JWKS and demo tokens; registered only with DEV_ISSUER_ENABLED. */
export function devIssuerRoutes(routes: Routes, issuer: DevIssuer): void {
  routes.get(
    '/dev/.well-known/jwks.json',
    {
      access: 'anonymous',
      summary: 'The dev issuer’s public keys (local development only)',
      responses: {
        200: z.object({ keys: z.array(z.looseObject({ kty: z.string() })) }).meta({ id: 'Jwks' }),
        429: 'problem',
      },
    },
    (_req, res) => {
      res.json(issuer.jwks());
    },
  );

  routes.post(
    '/dev/token',
    {
      access: 'anonymous',
      summary: 'A token for a demo user (local development only)',
      description:
        'Any lower-case name is a shopper (`alice`, `shopper-17`); `admin` gets the admin role. `expiresInSeconds` mints a short-lived token, e.g. to try expiry.',
      body: z.object({
        user: z.string().regex(DEV_USER, 'a lower-case name: a-z, 0-9 and -, up to 63'),
        expiresInSeconds: z.int().min(1).max(86_400).optional(),
      }),
      responses: {
        200: z
          .object({
            access_token: z.string(),
            token_type: z.literal('Bearer'),
            expires_in: z.int(),
          })
          .meta({ id: 'DevToken' }),
        429: 'problem',
      },
    },
    async (req, res) => {
      res.json(await issuer.mint(req.body.user, req.body.expiresInSeconds));
    },
  );
}
