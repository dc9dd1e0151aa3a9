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
  type Environment,
} from '@emporium/platform';
import type { z } from 'zod';

/** Every variable inventory reads. */
export const configSchema = baseConfigSchema
  .extend({
    ...authConfigShape,
    ...kafkaConfigShape,
    ...mongoConfigShape,
    ...leaderElectionConfigShape,
    MONGO_DATABASE: mongoConfigShape.MONGO_DATABASE.default('inventory'),
    /** Units a sku starts with when inventory first hears of it from catalog. */
    INVENTORY_INITIAL_STOCK: envVar.int(0, 1_000_000_000).default(100),
    /**
     * How long units stay held for an order inventory has not seen placed (its OrderPlaced),
     * in ms. Keep it well above the longest outbox delay orders may have (a Kafka outage):
     * an OrderPlaced after the expiry holds the units again only if they are still free.
     */
    RESERVATION_TTL_MS: envVar.int(1000, 7 * 24 * 3_600_000).default(15 * 60_000),
    /** Pause between two sweeps for expired reservations, in ms (the leader sweeps). */
    RESERVATION_SWEEP_INTERVAL_MS: envVar.int(100, 3_600_000).default(30_000),
    /** The Lease whose holder runs the sweeper. */
    LEADER_ELECTION_LEASE_NAME:
      leaderElectionConfigShape.LEADER_ELECTION_LEASE_NAME.default('inventory-sweeper'),
  })
  .superRefine(checkLeaderElection)
  .superRefine(checkKafkaSasl)
  .superRefine(checkAuth);

/** Inventory's parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadInventoryConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('inventory', configSchema, env);
}
