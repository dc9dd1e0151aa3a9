import type { Scenario } from './scenario.js';
import { cartGrowth } from './scenarios/cart-growth.js';
import { catalogGrowth } from './scenarios/catalog-growth.js';
import { chassisCost } from './scenarios/chassis-cost.js';
import { envoyHops } from './scenarios/envoy-hops.js';
import { footprint } from './scenarios/footprint.js';
import { kafkaRunner } from './scenarios/kafka-runner.js';
import { outboxRelay } from './scenarios/outbox-relay.js';
import { saga } from './scenarios/saga.js';
import { soakScenario } from './scenarios/soak.js';
import { telemetryCost } from './scenarios/telemetry-cost.js';

/**
 * Every scenario, in run order: the single-service pairs on the bare infrastructure first, then
 * the edge, then the whole stack, so each fixture starts once and is stopped when the last
 * scenario that needs it is done. A new scenario (the growth curves) is a
 * module under scenarios/ exporting a {@link Scenario}, listed here.
 */
export const SCENARIOS: readonly Scenario[] = [
  telemetryCost,
  chassisCost,
  kafkaRunner,
  outboxRelay,
  envoyHops,
  // The growth curves: catalog on a database of its own, cart against catalogOff.
  catalogGrowth,
  cartGrowth,
  footprint,
  saga,
  // Last: it seeds 100k orders into the stack's store.
  soakScenario,
];

/**
 * The scenarios `--only` names (all when none; in a smoke run, those that fit in one), or an
 * error naming the unknown ones.
 */
export function selectScenarios(only: readonly string[], smoke = false): readonly Scenario[] {
  if (only.length === 0) return SCENARIOS.filter((s) => !smoke || s.inSmoke !== false);
  const known = SCENARIOS.map((s) => s.name);
  const unknown = only.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new RangeError(`unknown scenario ${unknown.join(', ')}; known: ${known.join(', ')}`);
  }
  return SCENARIOS.filter((s) => only.includes(s.name));
}
