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
  /**
   * The lines of the user's cart (none when the user has no cart), read with the user's own
   * `authorization`: cart lets nobody else read it.
   */
  lines(userId: string, authorization: string | undefined): Promise<CartLine[]>;
  /** Empties the user's cart, as the user; throws when cart failed or refused. */
  clear(userId: string, authorization: string | undefined): Promise<void>;
}

/** Creates the cart gateway over an upstream client of the cart service. */
export function cartGateway(client: UpstreamClient): CartGateway {
  const path = (userId: string): string => `/carts/${encodeURIComponent(userId)}`;
  // What traces record instead of the path: the user id never leaves in a span.
  const route = '/carts/:userId';
  const as = (authorization: string | undefined) =>
    authorization === undefined ? {} : { headers: { authorization } };
  return {
    lines: async (userId, authorization) => {
      const response = await client.request({
        method: 'GET',
        path: path(userId),
        route,
        ...as(authorization),
        schema: CartSchema,
      });
      if (!response.ok) throw upstreamRejected(client.name, response.status);
      return response.body.lines.map(({ sku, quantity }) => ({ sku, quantity }));
    },
    clear: async (userId, authorization) => {
      const response = await client.request({
        method: 'DELETE',
        path: path(userId),
        route,
        ...as(authorization),
      });
      if (!response.ok) throw upstreamRejected(client.name, response.status);
    },
  };
}
