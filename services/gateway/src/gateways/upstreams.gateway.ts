import {
  upstreamClients,
  type Logger,
  type Metrics,
  type UpstreamClient,
} from '@emporium/platform';
import type { Config } from '../config.js';
import type { Identity } from '../domain/identity.js';

/** The services behind the gateway, each reached through its UPSTREAM_<NAME>_URL. */
export interface Upstreams {
  catalog: UpstreamClient;
  cart: UpstreamClient;
  inventory: UpstreamClient;
  orders: UpstreamClient;
  notifications: UpstreamClient;
  shipping: UpstreamClient;
  payments: UpstreamClient;
}

/** Creates one upstream client per service (timeouts, bounded retries of idempotent calls). */
export function createUpstreams(
  config: Readonly<Config>,
  metrics: Metrics,
  logger: Logger,
): Upstreams {
  const client = upstreamClients(config, { metrics, logger });
  return {
    catalog: client('catalog', config.UPSTREAM_CATALOG_URL),
    cart: client('cart', config.UPSTREAM_CART_URL),
    inventory: client('inventory', config.UPSTREAM_INVENTORY_URL),
    orders: client('orders', config.UPSTREAM_ORDERS_URL),
    notifications: client('notifications', config.UPSTREAM_NOTIFICATIONS_URL),
    shipping: client('shipping', config.UPSTREAM_SHIPPING_URL),
    payments: client('payments', config.UPSTREAM_PAYMENTS_URL),
  };
}

/**
 * The headers that carry the caller to a service: the user's own token, which the gateway has
 * verified and the service verifies again (it believes no header). Nothing for nobody.
 */
export function identityHeaders(identity: Identity | undefined): Record<string, string> {
  if (!identity) return {};
  return { authorization: `Bearer ${identity.token}` };
}
