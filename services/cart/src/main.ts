// Wiring only: config → runtime and clients → app → serve.
import { createServiceRuntime, serviceTokensFrom, upstreamClients } from '@emporium/platform';
import { buildApp } from './app.js';
import { loadCartConfig } from './config.js';
import { catalogGateway } from './gateways/catalog.gateway.js';
import { cartsRepository } from './repositories/carts.repository.js';

const config = loadCartConfig(process.env);
const runtime = createServiceRuntime('cart', config);
const { logger, metrics, readiness, faults } = runtime;

// Degrade, don't fall over: without Redis the service still starts, answers 503 and reports
// not ready until Redis is back.
const redis = await runtime.redis(config.REDIS_URL, { ready: true });
const carts = cartsRepository(redis, { ttlSeconds: config.CART_TTL_SECONDS, metrics });
// Cart's price lookups carry its own workload token: catalog knows who reads it.
const upstream = upstreamClients(config, {
  metrics,
  logger,
  tokens: serviceTokensFrom(config.SERVICE_TOKEN_DIR),
});
const catalog = catalogGateway(upstream('catalog', config.UPSTREAM_CATALOG_URL));

const { app } = buildApp(config, { carts, catalog, metrics, logger, readiness, faults });
await runtime.serve(app, config.PORT);
