// Wiring only: config → runtime and clients → app → serve.
import { createServiceRuntime } from '@emporium/platform';
import { buildApp } from './app.js';
import { loadGatewayConfig } from './config.js';
import { createDevIssuer } from './dev-issuer/dev-issuer.js';
import { createUpstreams } from './gateways/upstreams.gateway.js';
import { rateLimitsRepository } from './repositories/rate-limits.repository.js';

const config = loadGatewayConfig(process.env);
const runtime = createServiceRuntime('gateway', config);
const { logger, metrics, readiness, faults } = runtime;

// Not a readiness dependency: the limits fail open, so a Redis outage must not take the
// gateway (and with it the whole store) out of the load balancer.
const redis = await runtime.redis(config.REDIS_URL, { ready: false });
const rateLimits = rateLimitsRepository(redis, {
  userCapacity: config.RATE_LIMIT_USER_CAPACITY,
  userRefillPerSecond: config.RATE_LIMIT_USER_REFILL_PER_SECOND,
  ipCapacity: config.RATE_LIMIT_IP_CAPACITY,
  ipRefillPerSecond: config.RATE_LIMIT_IP_REFILL_PER_SECOND,
  tracesCapacity: config.BROWSER_TRACES_CAPACITY,
  tracesRefillPerSecond: config.BROWSER_TRACES_REFILL_PER_SECOND,
});
const devIssuer = config.DEV_ISSUER_ENABLED
  ? await createDevIssuer({ issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE })
  : undefined;
if (devIssuer) logger.warn('dev issuer enabled: /dev/token mints tokens for demo users');
const upstreams = createUpstreams(config, metrics, logger);

const { app } = buildApp(config, {
  upstreams,
  rateLimits,
  metrics,
  logger,
  readiness,
  faults,
  ...(devIssuer ? { devIssuer } : {}),
});
await runtime.serve(app, config.PORT);
