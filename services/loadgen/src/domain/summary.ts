import { JOURNEY_OUTCOMES, type JourneyOutcome } from './journey.js';
import type { OrdersSummary } from './orders.js';
import { STEPS, type Outcome, type Step } from './outcome.js';
import type { Random } from './random.js';

/** The line main.ts prints the final summary on, as `loadgen-summary {json}`, for a CLI to find. */
export const SUMMARY_PREFIX = 'loadgen-summary ';

/** The orders section's types, for a command line that reads the summary line. */
export type { OrdersSummary, SettleSummary } from './orders.js';

/** The counts and latencies of one step (or of all of them, `total`). */
export interface StepSummary {
  step: Step | 'total';
  requests: number;
  ok: number;
  /** 4xx answers of normal trading (409 empty cart or short stock, 404 product gone). */
  business: number;
  /** The business answers by the problem's `code` (e.g. `OUT_OF_STOCK`), else `HTTP_<status>`. */
  businessCodes: Record<string, number>;
  rateLimited: number;
  /** 5xx, timeouts, refused connections and unexpected 4xx. */
  errors: number;
  /** Latency percentiles in ms (nearest rank), null before the first answer. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

/** Journeys by how they ended, and those still going on. */
export type JourneyCounts = Record<JourneyOutcome, number> & { inProgress: number };

/** Everything a run did so far; what `GET /stats` answers and main.ts prints at the end. */
export interface Summary {
  /** When the run started (ISO 8601). */
  startedAt: string;
  /** False once the run stopped: the numbers are final. */
  running: boolean;
  elapsedSeconds: number;
  targetRps: number;
  /** Requests sent (answered or not) per second of the run. */
  achievedRps: number;
  concurrency: number;
  requests: number;
  /** Ticks not sent because `concurrency` requests were in flight. */
  dropped: number;
  ordersPlaced: number;
  /** What became of the orders placed: final or not, and how long they took. */
  orders: OrdersSummary;
  journeys: JourneyCounts;
  /** The steps that were sent at least once, in journey order. */
  steps: StepSummary[];
  total: StepSummary;
}

/** What the recorder does not count itself but a snapshot reports. */
export interface SnapshotContext {
  startedAt: string;
  running: boolean;
  elapsedMs: number;
  targetRps: number;
  concurrency: number;
  dropped: number;
  inProgress: number;
  /** The order tracker's part, which the recorder only passes on. */
  orders: OrdersSummary;
}

/** Accumulates requests and journeys; {@link SummaryRecorder.snapshot} turns them into a Summary. */
export interface SummaryRecorder {
  /** One request: its step, outcome and latency; `businessCode` names a business answer. */
  request(step: Step, outcome: Outcome, latencyMs: number, businessCode?: string): void;
  journey(outcome: JourneyOutcome): void;
  orderPlaced(): void;
  snapshot(context: SnapshotContext): Summary;
}

/** Options of {@link createSummaryRecorder}. */
export interface SummaryRecorderOptions {
  /** Decides which samples a full reservoir keeps. */
  random: Random;
  /** Latency samples kept per step (default 10 000); beyond, a uniform sample of them all. */
  maxSamples?: number;
}

/**
 * The `p`th percentile (0–100] of ascending `sorted` by nearest rank: the smallest sample with at
 * least p% of the samples at or below it. Undefined for no samples.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

/** One step's counters and its latency reservoir. */
interface StepTally {
  requests: number;
  outcomes: Record<Outcome, number>;
  businessCodes: Record<string, number>;
  /** Samples seen, kept or not (the reservoir's denominator). */
  seen: number;
  samples: number[];
}

const emptyTally = (): StepTally => ({
  requests: 0,
  outcomes: { ok: 0, business: 0, rate_limited: 0, error: 0 },
  businessCodes: {},
  seen: 0,
  samples: [],
});

const round = (value: number, digits: number): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/**
 * Creates a recorder. Latencies go into a reservoir per step (Vitter's algorithm R), so a
 * service that runs for weeks keeps bounded memory and its percentiles stay a fair sample;
 * runs shorter than `maxSamples` requests per step get exact percentiles.
 */
export function createSummaryRecorder(options: SummaryRecorderOptions): SummaryRecorder {
  const maxSamples = options.maxSamples ?? 10_000;
  const tallies = new Map<Step | 'total', StepTally>();
  const journeys = Object.fromEntries(JOURNEY_OUTCOMES.map((o) => [o, 0])) as Record<
    JourneyOutcome,
    number
  >;
  let ordersPlaced = 0;

  const tally = (step: Step | 'total'): StepTally => {
    let found = tallies.get(step);
    if (!found) {
      found = emptyTally();
      tallies.set(step, found);
    }
    return found;
  };

  const add = (target: StepTally, outcome: Outcome, latencyMs: number, code?: string): void => {
    target.requests++;
    target.outcomes[outcome]++;
    if (outcome === 'business' && code !== undefined) {
      target.businessCodes[code] = (target.businessCodes[code] ?? 0) + 1;
    }
    target.seen++;
    if (target.samples.length < maxSamples) {
      target.samples.push(latencyMs);
    } else {
      const slot = Math.floor(options.random() * target.seen);
      if (slot < maxSamples) target.samples[slot] = latencyMs;
    }
  };

  const summarise = (step: Step | 'total', source: StepTally): StepSummary => {
    const sorted = [...source.samples].sort((a, b) => a - b);
    const at = (p: number): number | null => {
      const value = percentile(sorted, p);
      return value === undefined ? null : round(value, 1);
    };
    return {
      step,
      requests: source.requests,
      ok: source.outcomes.ok,
      business: source.outcomes.business,
      businessCodes: { ...source.businessCodes },
      rateLimited: source.outcomes.rate_limited,
      errors: source.outcomes.error,
      p50Ms: at(50),
      p95Ms: at(95),
      p99Ms: at(99),
    };
  };

  return {
    request(step, outcome, latencyMs, businessCode) {
      add(tally(step), outcome, latencyMs, businessCode);
      add(tally('total'), outcome, latencyMs, businessCode);
    },
    journey(outcome) {
      journeys[outcome]++;
    },
    orderPlaced() {
      ordersPlaced++;
    },
    snapshot(context) {
      const total = summarise('total', tallies.get('total') ?? emptyTally());
      const seconds = context.elapsedMs / 1000;
      return {
        startedAt: context.startedAt,
        running: context.running,
        elapsedSeconds: round(seconds, 3),
        targetRps: context.targetRps,
        achievedRps: seconds > 0 ? round(total.requests / seconds, 2) : 0,
        concurrency: context.concurrency,
        requests: total.requests,
        dropped: context.dropped,
        ordersPlaced,
        orders: context.orders,
        journeys: { ...journeys, inProgress: context.inProgress },
        steps: STEPS.flatMap((step) => {
          const found = tallies.get(step);
          return found ? [summarise(step, found)] : [];
        }),
        total,
      };
    },
  };
}
