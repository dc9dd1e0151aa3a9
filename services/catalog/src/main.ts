// Wiring only: config → runtime and clients → seed → app and workers → serve.
import { catalogTopic } from '@emporium/contracts';
import { createServiceRuntime } from '@emporium/platform';
import { buildApp } from './app.js';
import { catalogMetrics } from './catalog.metrics.js';
import { loadCatalogConfig } from './config.js';
import { seedProducts } from './domain/seed-catalogue.js';
import { productCache } from './repositories/product-cache.repository.js';
import { productsRepository } from './repositories/products.repository.js';

const config = loadCatalogConfig(process.env);
const runtime = createServiceRuntime('catalog', config);
const { logger, metrics, readiness, faults } = runtime;

const products = productsRepository(runtime.mongo(config).db(config.MONGO_DATABASE));
await products.ensureIndexes();

// Not a readiness dependency: without Redis the catalogue is read from MongoDB (degrade).
const redis = await runtime.redis(config.REDIS_URL, { ready: false });
const cache = productCache({
  redis,
  ttlSeconds: config.CATALOG_CACHE_TTL_SECONDS,
  metrics,
  logger,
});

// Catalog consumes nothing, so it has no consumer group and no dead-letter topic.
const kafka = await runtime.kafka(config, { produces: [catalogTopic] });
runtime.relay({
  collections: products.collection,
  producer: await runtime.producer(kafka),
  topics: [catalogTopic],
  intervalMs: config.OUTBOX_INTERVAL_MS,
  leaderElection: config,
  mutex: products.mutex,
  mutexKeyField: 'id',
});

if (config.CATALOG_SEED) {
  const seeded = await products.seedIfEmpty(seedProducts(new Date()));
  catalogMetrics(metrics, () => products.count(), logger).productsChanged('seeded', seeded);
  if (seeded > 0) logger.info({ seeded }, 'demo catalogue loaded');
}

const { app } = buildApp(config, { products, cache, metrics, logger, readiness, faults });
await runtime.serve(app, config.PORT);
