import { callerOf, mayActFor } from '@emporium/platform';
import { AmountMinor, Currency, Id, Sku } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
import type { Request } from 'express';
import { z } from 'zod';
import type { CartMetrics } from '../cart.metrics.js';
import { cartView, MAX_QUANTITY, removeLine, setLine, type LineRejection } from '../domain/cart.js';
import { lineRejected, notYourCart, unknownSku } from '../errors.js';
import type { CatalogGateway } from '../gateways/catalog.gateway.js';
import type { CartsRepository } from '../repositories/carts.repository.js';

/** One line of a cart as the API returns it. */
export const CartLineSchema = z
  .object({
    sku: Sku,
    name: z.string(),
    quantity: z.int().min(1).max(MAX_QUANTITY),
    unitPriceMinor: AmountMinor,
  })
  .meta({ id: 'CartLine' });

/** A cart as the API returns it. */
export const CartSchema = z
  .object({
    userId: Id,
    lines: z.array(CartLineSchema),
    currency: Currency,
    totalMinor: AmountMinor,
    updatedAt: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Cart' });

/** The body of `PUT /carts/:userId/lines/:sku`. */
export const SetLineBody = z.object({ quantity: z.int().min(1).max(MAX_QUANTITY) });

/** The metric label of each domain rejection. */
const REJECTION_REASON = {
  CURRENCY_MISMATCH: 'currency_mismatch',
  CART_FULL: 'cart_full',
} as const satisfies Record<LineRejection['reason'], string>;

const CartParams = z.object({ userId: Id });
const LineParams = z.object({ userId: Id, sku: Sku });

/** What the routes need. */
export interface CartRoutesDeps {
  carts: CartsRepository;
  catalog: CatalogGateway;
  metrics: CartMetrics;
  defaultCurrency: string;
  now?: () => Date;
}

/**
 * A caller may touch only their own cart unless an admin: the user of the bearer token, which
 * this service verifies itself. Orders reads and clears a cart with the user's own token.
 */
function assertMayAccess(req: Request, userId: string): void {
  if (!mayActFor(callerOf(req), userId)) throw notYourCart();
}

/** GET/DELETE /carts/:userId, PUT/DELETE /carts/:userId/lines/:sku. */
export function cartRoutes(routes: Routes, deps: CartRoutesDeps): void {
  const { carts, catalog, metrics, defaultCurrency } = deps;
  const now = deps.now ?? (() => new Date());

  routes.get(
    '/carts/:userId',
    {
      access: 'user',
      summary: "The user's cart (an empty one when the user has none)",
      params: CartParams,
      responses: { 200: CartSchema, 403: 'problem' },
    },
    async (req, res) => {
      const { userId } = req.params;
      assertMayAccess(req, userId);
      res.json(cartView(userId, await carts.get(userId), defaultCurrency, now()));
    },
  );

  routes.put(
    '/carts/:userId/lines/:sku',
    {
      access: 'user',
      summary: 'Sets the quantity of a product in the cart, priced by the catalog',
      description:
        'Adds the line or replaces its quantity; name and unit price come from the catalog. ' +
        'The first line fixes the cart currency. The cart is unchanged when the catalog is down.',
      params: LineParams,
      body: SetLineBody,
      responses: {
        200: CartSchema,
        403: 'problem',
        404: { description: 'UNKNOWN_SKU: the catalog has no such product.' },
        409: {
          description:
            'CURRENCY_MISMATCH: the product is priced in another currency than the cart; ' +
            'CART_FULL: the cart already holds the most different products it may.',
        },
        502: 'problem',
        504: 'problem',
      },
    },
    async (req, res) => {
      const { userId, sku } = req.params;
      assertMayAccess(req, userId);
      // Priced before touching Redis, so a catalog outage leaves the cart as it was.
      const product = await catalog.findBySku(sku);
      if (!product) {
        metrics.lineRejections.inc({ reason: 'unknown_sku' });
        throw unknownSku(sku);
      }
      const { before, after } = await carts.update(userId, (cart) => {
        const result = setLine(cart, product, req.body.quantity, now());
        if (!result.ok) {
          // Thrown on the first read that refuses it, so counted once per request.
          metrics.lineRejections.inc({ reason: REJECTION_REASON[result.rejection.reason] });
          throw lineRejected(result.rejection);
        }
        return result.cart;
      });
      const added = !before.lines.some((line) => line.sku === sku);
      (added ? metrics.linesAdded : metrics.linesUpdated).inc({ currency: product.currency });
      res.json(cartView(userId, after, defaultCurrency, now()));
    },
  );

  routes.delete(
    '/carts/:userId/lines/:sku',
    {
      access: 'user',
      summary: 'Removes a product from the cart (a product not in it is no error)',
      params: LineParams,
      responses: { 200: CartSchema, 403: 'problem' },
    },
    async (req, res) => {
      const { userId, sku } = req.params;
      assertMayAccess(req, userId);
      const { before, after } = await carts.update(userId, (cart) => removeLine(cart, sku, now()));
      if (after !== before) metrics.linesRemoved.inc();
      res.json(cartView(userId, after, defaultCurrency, now()));
    },
  );

  routes.delete(
    '/carts/:userId',
    {
      access: 'user',
      summary: 'Deletes the cart (idempotent)',
      params: CartParams,
      responses: { 204: 'empty', 403: 'problem' },
    },
    async (req, res) => {
      const { userId } = req.params;
      assertMayAccess(req, userId);
      if (await carts.clear(userId)) metrics.cartsCleared.inc();
      res.status(204).end();
    },
  );
}
