import {
  authConfigShape,
  checkAuth,
  baseConfigSchema,
  checkKafkaSasl,
  checkLeaderElection,
  envVar,
  kafkaConfigShape,
  leaderElectionConfigShape,
  loadConfigOrExit,
  mongoConfigShape,
  outboxConfigShape,
  upstreamConfigShape,
  type Environment,
} from '@emporium/platform';
import type { z } from 'zod';

/** Every variable orders reads. */
export const configSchema = baseConfigSchema
  .extend({
    ...authConfigShape,
    ...kafkaConfigShape,
    ...mongoConfigShape,
    ...upstreamConfigShape,
    ...outboxConfigShape,
    ...leaderElectionConfigShape,
    /** The Lease whose holder relays the outbox (with replicas, one relays). */
    LEADER_ELECTION_LEASE_NAME:
      leaderElectionConfigShape.LEADER_ELECTION_LEASE_NAME.default('orders-outbox-relay'),
    MONGO_DATABASE: mongoConfigShape.MONGO_DATABASE.default('orders'),
    /** Where the cart service is reached (its Envoy egress listener, or the service itself). */
    UPSTREAM_CART_URL: envVar.url(),
    /** Where the catalog service is reached. */
    UPSTREAM_CATALOG_URL: envVar.url(),
    /** Where the inventory service is reached. */
    UPSTREAM_INVENTORY_URL: envVar.url(),
  })
  .superRefine(checkLeaderElection)
  .superRefine(checkKafkaSasl)
  .superRefine(checkAuth);

/** Orders' parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadOrdersConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('orders', configSchema, env);
}
