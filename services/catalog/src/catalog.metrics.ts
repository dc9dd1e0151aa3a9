import type { Logger, Metrics } from '@emporium/platform';

/** How a product came to change, the label of `catalog_product_changes_total`. */
export type ProductChange = 'created' | 'updated' | 'seeded';

/** Catalog's business metrics. */
export interface CatalogMetrics {
  /** Counts products written with a ProductUpdated event. */
  productsChanged(change: ProductChange, count?: number): void;
}

/**
 * Registers `catalog_products` (read from the database at scrape time, so every replica
 * reports the same number) and `catalog_product_changes_total{change}`.
 */
export function catalogMetrics(
  metrics: Metrics,
  countProducts: () => Promise<number>,
  logger: Logger,
): CatalogMetrics {
  metrics.gauge({
    name: 'catalog_products',
    help: 'Products in the catalogue.',
    async collect() {
      try {
        this.set(await countProducts());
      } catch (error) {
        // A database outage must not break /metrics; the gauge keeps its last value.
        logger.debug({ err: error }, 'could not count products for catalog_products');
      }
    },
  });
  const changes = metrics.counter({
    name: 'catalog_product_changes_total',
    help: 'Products created, updated or seeded (each with a ProductUpdated event).',
    labelNames: ['change'],
  });
  return {
    productsChanged: (change, count = 1) => {
      if (count > 0) changes.inc({ change }, count);
    },
  };
}
