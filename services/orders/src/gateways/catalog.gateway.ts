import { AmountMinor, Currency, Sku } from '@emporium/contracts';
import type { UpstreamClient } from '@emporium/platform';
import { z } from 'zod';
import { MAX_ORDER_LINES, type PricedProduct } from '../domain/order.js';
import { upstreamRejected } from '../errors.js';

/** The part of catalog's `GET /products` answer orders relies on. */
const ProductPageSchema = z.object({
  items: z.array(
    z.object({
      sku: Sku,
      name: z.string().min(1).max(200),
      priceMinor: AmountMinor,
      currency: Currency,
    }),
  ),
});

/** The catalog service, as orders uses it. */
export interface CatalogGateway {
  /** The products catalog has among `skus` (at most 100); unknown skus are simply absent. */
  productsBySku(skus: readonly string[]): Promise<PricedProduct[]>;
}

/** Creates the catalog gateway over an upstream client of the catalog service. */
export function catalogGateway(client: UpstreamClient): CatalogGateway {
  return {
    productsBySku: async (skus) => {
      if (skus.length === 0) return [];
      const response = await client.request({
        method: 'GET',
        path: '/products',
        // One page holds every line: an order has at most MAX_ORDER_LINES, catalog's page limit.
        query: { skus: skus.join(','), limit: MAX_ORDER_LINES },
        schema: ProductPageSchema,
      });
      if (!response.ok) throw upstreamRejected(client.name, response.status);
      return response.body.items;
    },
  };
}
