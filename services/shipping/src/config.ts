import {
  authConfigShape,
  checkAuth,
  baseConfigSchema,
  checkKafkaSasl,
  checkLeaderElection,
  kafkaConfigShape,
  leaderElectionConfigShape,
  loadConfigOrExit,
  mongoConfigShape,
  outboxConfigShape,
  type Environment,
} from '@emporium/platform';
import { z } from 'zod';

/** Every variable shipping reads. */
export const configSchema = baseConfigSchema
  .extend({
    ...authConfigShape,
    ...kafkaConfigShape,
    ...mongoConfigShape,
    ...outboxConfigShape,
    ...leaderElectionConfigShape,
    /** The Lease whose holder relays the outbox (with replicas, one relays). */
    LEADER_ELECTION_LEASE_NAME:
      leaderElectionConfigShape.LEADER_ELECTION_LEASE_NAME.default('shipping-outbox-relay'),
    MONGO_DATABASE: mongoConfigShape.MONGO_DATABASE.default('shipping'),
    /** The carrier every shipment is handed to (a simulated one). */
    SHIPPING_CARRIER: z.string().min(1).max(50).default('EMPORIUM-POST'),
  })
  .superRefine(checkLeaderElection)
  .superRefine(checkKafkaSasl)
  .superRefine(checkAuth);

/** Shipping's parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadShippingConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('shipping', configSchema, env);
}
