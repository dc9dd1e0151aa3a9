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
  type Environment,
} from '@emporium/platform';
import type { z } from 'zod';

/** Every variable payments reads. */
export const configSchema = baseConfigSchema
  .extend({
    ...authConfigShape,
    ...kafkaConfigShape,
    ...mongoConfigShape,
    ...outboxConfigShape,
    ...leaderElectionConfigShape,
    /** The Lease whose holder relays the outbox (with replicas, one relays). */
    LEADER_ELECTION_LEASE_NAME:
      leaderElectionConfigShape.LEADER_ELECTION_LEASE_NAME.default('payments-outbox-relay'),
    MONGO_DATABASE: mongoConfigShape.MONGO_DATABASE.default('payments'),
    /** How long the simulated payment provider takes to answer, in ms. */
    PSP_LATENCY_MS: envVar.int(0, 60_000).default(50),
    /** Share of orders the simulated provider declines, 0–1 (decided per order id). */
    PSP_DECLINE_RATE: envVar.number(0, 1).default(0.1),
  })
  .superRefine(checkLeaderElection)
  .superRefine(checkKafkaSasl)
  .superRefine(checkAuth);

/** Payments' parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadPaymentsConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('payments', configSchema, env);
}
