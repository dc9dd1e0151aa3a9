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
  redisConfigShape,
  type Environment,
} from '@emporium/platform';
import type { z } from 'zod';

/** Every variable catalog reads. */
export const configSchema = baseConfigSchema
  .extend({
    ...authConfigShape,
    ...kafkaConfigShape,
    ...mongoConfigShape,
    ...outboxConfigShape,
    ...leaderElectionConfigShape,
    /** The Lease whose holder relays the outbox (with replicas, one relays). */
    LEADER_ELECTION_LEASE_NAME:
      leaderElectionConfigShape.LEADER_ELECTION_LEASE_NAME.default('catalog-outbox-relay'),
    ...redisConfigShape,
    MONGO_DATABASE: mongoConfigShape.MONGO_DATABASE.default('catalog'),
    /** Load the demo catalogue at start when the products collection is empty. */
    CATALOG_SEED: envVar.bool().default(true),
    /** Lifetime of a cached product in Redis; also the bound on how stale a cached read can be. */
    CATALOG_CACHE_TTL_SECONDS: envVar.int(1, 86_400).default(60),
  })
  .superRefine(checkLeaderElection)
  .superRefine(checkKafkaSasl)
  .superRefine(checkAuth);

/** Catalog's parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadCatalogConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('catalog', configSchema, env);
}
