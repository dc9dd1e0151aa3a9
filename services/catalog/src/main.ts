// Wiring only: config → clients → seed → app and workers → listen → shutdown hooks.
import { catalogTopic } from '@emporium/contracts';
import {
  createEventProducer,
  createFaults,
  createKafka,
  createLifecycle,
  createLogger,
  createMetrics,
  createMongoClient,
  createOutboxRelay,
  createReadiness,
  createRedisClient,
  ensureTopics,
  getTelemetry,
  kafkaSasl,
  listen,
  outboxPublisher,
  pingMongo,
} from '@emporium/platform';
import { buildApp } from './app.js';
import { catalogMetrics } from './catalog.metrics.js';
import { loadCatalogConfig } from './config.js';
import { seedProducts } from './domain/seed-catalogue.js';
import { productCache } from './repositories/product-cache.repository.js';
import { productsRepository } from './repositories/products.repository.js';

const config = loadCatalogConfig(process.env);
const logger = createLogger({
  service: 'catalog',
  version: config.SERVICE_VERSION,
  level: config.LOG_LEVEL,
});
const metrics = createMetrics({ service: 'catalog' });
const readiness = createReadiness();
const lifecycle = createLifecycle({
  logger,
  readiness,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
});
lifecycle.listen();

const mongo = createMongoClient({
  url: config.MONGO_URL,
  appName: 'catalog',
  retryWrites: config.MONGO_RETRY_WRITES,
  ...(config.MONGO_TLS_CA_FILE ? { tlsCaFile: config.MONGO_TLS_CA_FILE } : {}),
});
const products = productsRepository(mongo.db(config.MONGO_DATABASE));
await products.ensureIndexes();
readiness.register('mongodb', () => pingMongo(mongo));

// Not a readiness check: without Redis the catalogue is read from MongoDB (degrade, not fail).
const redis = createRedisClient({ url: config.REDIS_URL, connectionName: 'catalog', logger });
const cache = productCache({
  redis,
  ttlSeconds: config.CATALOG_CACHE_TTL_SECONDS,
  metrics,
  logger,
});

const sasl = kafkaSasl(config);
const kafka = createKafka({
  clientId: 'catalog',
  brokers: config.KAFKA_BROKERS,
  ssl: config.KAFKA_SSL,
  ...(sasl ? { sasl } : {}),
  logger,
});
// Catalog consumes nothing, so it has no consumer group and no dead-letter topic.
await ensureTopics(kafka, { topics: [catalogTopic] });
const producer = createEventProducer({ kafka, source: '/emporium/catalog', metrics, logger });
await producer.connect();
const relay = createOutboxRelay({
  collections: products.collection,
  publish: outboxPublisher(producer, [catalogTopic]),
  intervalMs: config.OUTBOX_INTERVAL_MS,
  metrics,
  logger,
});

if (config.CATALOG_SEED) {
  const seeded = await products.seedIfEmpty(seedProducts(new Date()));
  catalogMetrics(metrics, () => products.count(), logger).productsChanged('seeded', seeded);
  if (seeded > 0) logger.info({ seeded }, 'demo catalogue loaded');
}

const faults = createFaults(config.FAULTS, { metrics });
const { app } = buildApp(config, { products, cache, metrics, logger, readiness, faults });
const { port } = await listen(app, config.PORT, lifecycle);
relay.start();

lifecycle.onShutdown('workers', 'outbox relay', () => relay.stop());
lifecycle.onShutdown('telemetry', 'opentelemetry', () => getTelemetry().shutdown());
lifecycle.onShutdown('clients', 'kafka producer', () => producer.disconnect());
lifecycle.onShutdown('clients', 'mongodb', () => mongo.close());
lifecycle.onShutdown('clients', 'redis', async () => {
  // QUIT needs a live connection; while Redis is down just stop reconnecting.
  await redis.quit().catch(() => {
    redis.disconnect();
  });
});
logger.info({ port }, 'catalog listening');
