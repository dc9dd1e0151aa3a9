import { Sku } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
import { z } from 'zod';
import type { Upstreams } from '../gateways/upstreams.gateway.js';
import { forwardAsCaller } from './forward.js';
import { CartSchema } from './schemas.js';

const SIGNED_IN =
  'Needs a bearer token (401 without a valid one); the cart is the token subject’s.';

/** Cart's path of a user's cart as traces record it: the user id never leaves in a span. */
const CART_ROUTE = '/carts/:userId';

/** The caller's cart: cart's `/carts/<sub>` with the subject taken from the token only. */
export function cartRoutes(routes: Routes, upstreams: Upstreams): void {
  const cartPath = (userId: string): string => `/carts/${encodeURIComponent(userId)}`;

  routes.get(
    '/api/cart',
    {
      access: 'user',
      summary: 'The caller’s cart',
      description: SIGNED_IN,
      responses: { 200: CartSchema, 401: 'problem', 429: 'problem' },
    },
    (req, res) =>
      forwardAsCaller(req, res, upstreams.cart, (caller) => ({
        method: 'GET',
        path: cartPath(caller.userId),
        route: CART_ROUTE,
      })),
  );

  routes.put(
    '/api/cart/lines/:sku',
    {
      access: 'user',
      summary: 'Put a product in the cart with this quantity',
      description: `${SIGNED_IN} 404 UNKNOWN_SKU when the catalog does not know the sku.`,
      params: z.object({ sku: Sku }),
      body: z.object({ quantity: z.int().min(1).max(99) }),
      responses: { 200: CartSchema, 401: 'problem', 404: 'problem', 429: 'problem' },
    },
    (req, res) =>
      forwardAsCaller(req, res, upstreams.cart, (caller) => ({
        method: 'PUT',
        path: `${cartPath(caller.userId)}/lines/${encodeURIComponent(req.params.sku)}`,
        route: `${CART_ROUTE}/lines/:sku`,
        body: { quantity: req.body.quantity },
      })),
  );

  routes.delete(
    '/api/cart/lines/:sku',
    {
      access: 'user',
      summary: 'Take a product out of the cart',
      description: SIGNED_IN,
      params: z.object({ sku: Sku }),
      responses: { 200: CartSchema, 401: 'problem', 429: 'problem' },
    },
    (req, res) =>
      forwardAsCaller(req, res, upstreams.cart, (caller) => ({
        method: 'DELETE',
        path: `${cartPath(caller.userId)}/lines/${encodeURIComponent(req.params.sku)}`,
        route: `${CART_ROUTE}/lines/:sku`,
      })),
  );

  routes.delete(
    '/api/cart',
    {
      access: 'user',
      summary: 'Empty the cart',
      description: SIGNED_IN,
      responses: { 204: 'empty', 401: 'problem', 429: 'problem' },
    },
    (req, res) =>
      forwardAsCaller(req, res, upstreams.cart, (caller) => ({
        method: 'DELETE',
        path: cartPath(caller.userId),
        route: CART_ROUTE,
      })),
  );
}
