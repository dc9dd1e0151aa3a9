import { Sku } from '@emporium/contracts';
import type { UpstreamClient } from '@emporium/platform';
import { z } from 'zod';
import type { CartLine } from '../domain/order.js';
import { upstreamRejected } from '../errors.js';

/** The part of cart's `GET /carts/:userId` answer orders relies on. */
const CartSchema = z.object({
  lines: z.array(z.object({ sku: Sku, quantity: z.number().int().min(1) })),
});

/** The cart service, as orders uses it. */
export interface CartGateway {
  /** The lines of the user's cart (none when the user has no cart). */
  lines(userId: string): Promise<CartLine[]>;
  /** Empties the user's cart; throws when cart failed or refused. */
  clear(userId: string): Promise<void>;
}

/** Creates the cart gateway over an upstream client of the cart service. */
export function cartGateway(client: UpstreamClient): CartGateway {
  const path = (userId: string): string => `/carts/${encodeURIComponent(userId)}`;
  // What traces record instead of the path: the user id never leaves in a span.
  const route = '/carts/:userId';
  return {
    lines: async (userId) => {
      const response = await client.request({
        method: 'GET',
        path: path(userId),
        route,
        schema: CartSchema,
      });
      if (!response.ok) throw upstreamRejected(client.name, response.status);
      return response.body.lines.map(({ sku, quantity }) => ({ sku, quantity }));
    },
    clear: async (userId) => {
      const response = await client.request({ method: 'DELETE', path: path(userId), route });
      if (!response.ok) throw upstreamRejected(client.name, response.status);
    },
  };
}
