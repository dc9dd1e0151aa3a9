import { createCache, type Cache, type Logger, type Metrics } from '@emporium/platform';
import type { Redis } from 'ioredis';
import { ProductSchema, type Product } from '../domain/product.js';

/** The cache of products by id; `undefined` (no such product) is never cached. */
export type ProductCache = Cache<Product | undefined>;

/** Options of {@link productCache}. */
export interface ProductCacheOptions {
  redis: Redis;
  ttlSeconds: number;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Cache-aside of `GET /products/:id` in Redis under `cache:products:<id>`, counted in
 * `cache_requests_total{cache="products"}`. A Redis outage makes reads go to MongoDB instead
 * of failing; entries are checked against the Product schema, so one written by an older
 * release is reloaded rather than served.
 */
export function productCache(options: ProductCacheOptions): ProductCache {
  return createCache<Product | undefined>({
    redis: options.redis,
    name: 'products',
    ttlSeconds: options.ttlSeconds,
    metrics: options.metrics,
    logger: options.logger,
    schema: ProductSchema,
  });
}
