// Wiring only: config → clients → app → listen → shutdown hooks.
import {
  createFaults,
  createLifecycle,
  createLogger,
  createMetrics,
  createReadiness,
  createRedisClient,
  createUpstreamClient,
  getTelemetry,
  listen,
  pingRedis,
  waitForRedis,
} from '@emporium/platform';
import { buildApp } from './app.js';
import { loadCartConfig } from './config.js';
import { catalogGateway } from './gateways/catalog.gateway.js';
import { cartsRepository } from './repositories/carts.repository.js';

const config = loadCartConfig(process.env);
const logger = createLogger({
  service: 'cart',
  version: config.SERVICE_VERSION,
  level: config.LOG_LEVEL,
});
const metrics = createMetrics({ service: 'cart' });
const readiness = createReadiness();
const lifecycle = createLifecycle({
  logger,
  readiness,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
});
lifecycle.listen();

const redis = createRedisClient({ url: config.REDIS_URL, connectionName: 'cart', logger });
// Degrade, don't fall over: without Redis the service still starts, answers 503 and reports
// not ready until Redis is back.
await waitForRedis(redis, 5_000).catch((error: unknown) => {
  logger.warn({ err: error }, 'redis not reachable yet; carts answer 503 until it is');
});
readiness.register('redis', () => pingRedis(redis));
const carts = cartsRepository(redis, { ttlSeconds: config.CART_TTL_SECONDS, metrics });

const catalog = catalogGateway(
  createUpstreamClient({ name: 'catalog', baseUrl: config.UPSTREAM_CATALOG_URL, metrics, logger }),
);

const faults = createFaults(config.FAULTS, { metrics });
const { app } = buildApp(config, { carts, catalog, metrics, logger, readiness, faults });
const { port } = await listen(app, config.PORT, lifecycle);

lifecycle.onShutdown('telemetry', 'opentelemetry', () => getTelemetry().shutdown());
lifecycle.onShutdown('clients', 'redis', async () => {
  // QUIT lets in-flight commands finish; a Redis that is down cannot take it, so just drop it.
  await redis.quit().catch(() => {
    redis.disconnect();
  });
});
logger.info({ port }, 'cart listening');
