import { runVegeta, type VegetaResult } from './load/vegeta.js';
import { runWrk, type WrkResult } from './load/wrk.js';
import type { Goal, Measurement } from './results.js';
import type { ScenarioContext } from './scenario.js';
import { differences, ratios, spread } from './stats.js';

/**
 * Runs a pair for `rounds` rounds in ABBA order (A B, B A, A B, …), so neither side always
 * goes first into a warmer (or more crowded) machine.
 */
export async function alternate<T>(
  rounds: number,
  a: () => Promise<T>,
  b: () => Promise<T>,
): Promise<{ a: T[]; b: T[] }> {
  const out = { a: [] as T[], b: [] as T[] };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      out.a.push(await a());
      out.b.push(await b());
    } else {
      out.b.push(await b());
      out.a.push(await a());
    }
  }
  return out;
}

/** Fails the measurement when a run had errors: a fast error page is not throughput. */
function checkedWrk(url: string, result: WrkResult): WrkResult {
  const failed = result.non2xx + result.socketErrors;
  if (result.requests === 0 || failed > result.requests * 0.001) {
    throw new Error(
      `${url}: ${String(failed)} of ${String(result.requests)} requests failed under wrk`,
    );
  }
  return result;
}

/** One closed-loop run of `url` after a warmup, in responses per second. */
export async function closedLoop(context: ScenarioContext, url: string): Promise<number> {
  const { profile, tools } = context;
  const options = { bin: tools.wrk, url, connections: profile.connections };
  await runWrk({ ...options, seconds: profile.warmupSeconds });
  const result = checkedWrk(url, await runWrk({ ...options, seconds: profile.closedLoopSeconds }));
  context.log(`  ${url}: ${result.requestsPerSecond.toFixed(0)} req/s`);
  return result.requestsPerSecond;
}

/** One open-loop run of `url` at `rate` requests a second after a warmup at the same rate. */
export async function openLoop(
  context: ScenarioContext,
  url: string,
  rate: number,
): Promise<VegetaResult> {
  const { profile, tools } = context;
  const options = { bin: tools.vegeta, url, rate };
  await runVegeta({ ...options, seconds: profile.warmupSeconds });
  const result = await runVegeta({ ...options, seconds: profile.openLoopSeconds });
  if (result.requests === 0 || result.success < 0.99) {
    throw new Error(
      `${url}: ${((1 - result.success) * 100).toFixed(1)}% of ${String(result.requests)} requests failed at ${String(rate)} req/s (${result.errors.join('; ')})`,
    );
  }
  context.log(
    `  ${url}: p50 ${result.p50.toFixed(2)} ms, p90 ${result.p90.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms`,
  );
  return result;
}

/** Labels of a pair's two sides. */
export interface PairLabels {
  readonly a: string;
  readonly b: string;
}

/** A/B per round as a measurement (throughput ratios). */
export function ratioMeasurement(
  name: string,
  labels: PairLabels,
  a: readonly number[],
  b: readonly number[],
  sideUnit: string,
  goal?: Goal,
): Measurement {
  return {
    name,
    unit: 'ratio',
    value: spread(ratios(a, b)),
    ...(goal ? { goal } : {}),
    a: { label: labels.a, spread: spread(a) },
    b: { label: labels.b, spread: spread(b) },
    sideUnit,
  };
}

/** A−B per round as a measurement (added latency). */
export function differenceMeasurement(
  name: string,
  labels: PairLabels,
  a: readonly number[],
  b: readonly number[],
  unit: string,
  goal?: Goal,
): Measurement {
  return {
    name,
    unit,
    value: spread(differences(a, b)),
    ...(goal ? { goal } : {}),
    a: { label: labels.a, spread: spread(a) },
    b: { label: labels.b, spread: spread(b) },
    sideUnit: unit,
  };
}
