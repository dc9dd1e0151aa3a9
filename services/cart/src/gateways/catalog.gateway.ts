import { AmountMinor, Currency, Sku } from '@emporium/contracts';
import { AppError, PlatformErrorCode, type UpstreamClient } from '@emporium/platform';
import { z } from 'zod';
import type { PricedProduct } from '../domain/cart.js';

/** The part of catalog's Product a cart line needs; other fields are ignored. */
const CatalogProduct = z.object({
  sku: Sku,
  name: z.string().min(1),
  priceMinor: AmountMinor,
  currency: Currency,
});

/** catalog's `GET /products` page. */
const ProductPage = z.object({ items: z.array(CatalogProduct) });

/** Cart's view of the catalog service. */
export interface CatalogGateway {
  /**
   * The product with this sku, or null when the catalog does not know it. A catalog that is
   * down, slow or answering nonsense surfaces as the upstream client's 503/504/502.
   */
  findBySku(sku: string): Promise<PricedProduct | null>;
}

/** Creates the gateway over an upstream client of catalog (`UPSTREAM_CATALOG_URL`). */
export function catalogGateway(catalog: UpstreamClient): CatalogGateway {
  return {
    findBySku: async (sku) => {
      // `skus` answers exactly the products that exist, so an empty page means unknown.
      const response = await catalog.request({
        method: 'GET',
        path: '/products',
        query: { skus: sku },
        schema: ProductPage,
      });
      if (!response.ok) {
        // A 4xx to a well-formed sku lookup is catalog's bug or a contract drift, not ours.
        throw new AppError(
          PlatformErrorCode.UPSTREAM_FAILED,
          502,
          `The catalog service refused the product lookup (HTTP ${String(response.status)}).`,
        );
      }
      return response.body.items.find((product) => product.sku === sku) ?? null;
    },
  };
}
