import type { FixtureName, Fixtures } from './fixtures.js';
import type { Measurement } from './results.js';

/** How long and how hard a run measures: the full run's or the smoke's tiny counts. */
export interface Profile {
  readonly smoke: boolean;
  /** Rounds of each pair (A then B, then B then A, …). */
  readonly rounds: number;
  /** Unmeasured load before each measured run (JIT, connection pools, caches). */
  readonly warmupSeconds: number;
  /** Duration of one closed-loop (wrk) run. */
  readonly closedLoopSeconds: number;
  /** wrk's connections, as in the first measurement. */
  readonly connections: number;
  /** Requests per second of the open-loop (vegeta) runs. */
  readonly openLoopRate: number;
  readonly openLoopSeconds: number;
  /** Events pre-produced for the Kafka pair. */
  readonly kafkaEvents: number;
  readonly kafkaRounds: number;
  /** Order documents (one event each) the outbox relay drains as a backlog, per round. */
  readonly outboxEvents: number;
  /** Orders then written while the relay runs, each write waking it. */
  readonly outboxWokenEvents: number;
  /** Quiet time before idle RSS is read. */
  readonly idleSeconds: number;
  /** Each side of the soak (`npm run load` at 25 rps). */
  readonly soakSeconds: number;
  /** Past orders seeded before the soak's second side. */
  readonly soakSeedOrders: number;
  /** Concurrent shoppers of each point of the saga's curve. */
  readonly sagaShoppers: readonly number[];
  /** How long each point of the saga's curve places orders. */
  readonly sagaSeconds: number;
}

/** `npm run bench`: about ten minutes on a 2-core machine. */
export const FULL_PROFILE: Profile = {
  smoke: false,
  rounds: 3,
  warmupSeconds: 1,
  closedLoopSeconds: 5,
  connections: 16,
  openLoopRate: 1000,
  openLoopSeconds: 6,
  kafkaEvents: 100_000,
  kafkaRounds: 3,
  outboxEvents: 1000,
  outboxWokenEvents: 500,
  idleSeconds: 10,
  soakSeconds: 60,
  soakSeedOrders: 100_000,
  sagaShoppers: [1, 2, 4, 8, 16, 32],
  sagaSeconds: 10,
};

/** `npm run bench -- --smoke`: every scenario once with tiny counts, so none of them rots. */
export const SMOKE_PROFILE: Profile = {
  smoke: true,
  rounds: 1,
  warmupSeconds: 1,
  closedLoopSeconds: 1,
  connections: 4,
  openLoopRate: 100,
  openLoopSeconds: 1,
  kafkaEvents: 1000,
  kafkaRounds: 1,
  outboxEvents: 200,
  outboxWokenEvents: 50,
  idleSeconds: 0,
  soakSeconds: 5,
  soakSeedOrders: 100,
  sagaShoppers: [1, 2],
  sagaSeconds: 3,
};

/** Paths of the load generators (provisioned from tool-versions.json). */
export interface LoadTools {
  readonly wrk: string;
  readonly vegeta: string;
}

/** What a scenario is given. */
export interface ScenarioContext {
  readonly profile: Profile;
  readonly fixtures: Fixtures;
  readonly tools: LoadTools;
  /** A progress line (stderr). */
  readonly log: (message: string) => void;
  /** Writes `<name>.svg` where this run's charts go (charts.ts's writeChart); returns its path. */
  readonly chart: (name: string, svg: string) => Promise<string>;
}

/** What a scenario's run returns; the runner adds its name, rounds and duration. */
export interface ScenarioOutcome {
  readonly measurements: readonly Measurement[];
  readonly notes: readonly string[];
}

/**
 * One row group of the table: a pair measured side by side (or a footprint). Add one
 * by writing a module that exports it and listing it in registry.ts.
 */
export interface Scenario {
  /** The `--only` name, e.g. `telemetry-cost`. */
  readonly name: string;
  /** The pair in words, for the table. */
  readonly pair: string;
  /** False when even one tiny round takes longer than the smoke may run; true by default. */
  readonly inSmoke?: boolean;
  /** The fixtures it uses; the runner stops the others before it starts. */
  needs(profile: Profile): readonly FixtureName[];
  run(context: ScenarioContext): Promise<ScenarioOutcome>;
}
