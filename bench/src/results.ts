import type { Spread } from './stats.js';

/** A goal from the table: the measured value must be at least or at most `value`. */
export interface Goal {
  readonly op: '>=' | '<=';
  readonly value: number;
}

/** One side of a pair, measured in every round. */
export interface Side {
  /** What ran, e.g. `catalog, telemetry on`. */
  readonly label: string;
  readonly spread: Spread;
}

/** One figure a scenario reports: a ratio or difference of its pair, or a plain value. */
export interface Measurement {
  /** e.g. `throughput ratio`, `added p99`, `idle RSS, catalog`. */
  readonly name: string;
  /** e.g. `ratio`, `ms`, `MB`, `s`, `req/s`. */
  readonly unit: string;
  /** Per round: A/B, A−B, or the value itself. */
  readonly value: Spread;
  readonly goal?: Goal;
  /** The pair's raw figures (req/s, ms, events/s), when the value is derived from them. */
  readonly a?: Side;
  readonly b?: Side;
  /** The unit of `a` and `b`. */
  readonly sideUnit?: string;
}

/** What one scenario found. */
export interface ScenarioResult {
  readonly name: string;
  /** The pair in words (the table's "pair" column). */
  readonly pair: string;
  readonly rounds: number;
  readonly measurements: readonly Measurement[];
  /** Caveats a reader needs (what was left out in a smoke run, how the pair was set up). */
  readonly notes: readonly string[];
  /** Wall-clock time of the scenario, fixtures' start included. */
  readonly seconds: number;
  /**
   * The machine's 1-minute load average when the scenario started: on a shared machine, what
   * else ran shows here, and in the spread.
   */
  readonly loadAverage: number;
}

/** Whether a goal is met and by how much the median passes (positive) or misses (negative). */
export interface Verdict {
  readonly met: boolean;
  /** Distance from the goal in the measurement's unit: ≥ 0 when met. */
  readonly margin: number;
}

/** Judges a median against its goal. */
export function verdict(value: number, goal: Goal): Verdict {
  const margin = goal.op === '>=' ? value - goal.value : goal.value - value;
  return { met: margin >= 0, margin };
}
