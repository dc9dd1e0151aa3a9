// Shared by the growth curves (catalog-growth, cart-growth): latency of one operation at each
// size of the data it works on, measured open-loop where the service keeps up and one request
// at a time where it cannot, and drawn as a chart of p50/p99 against size.
import { performance } from 'node:perf_hooks';
import { lineChartSvg, type ChartSeries } from './charts.js';
import { runVegeta, type VegetaResult, type VegetaTarget } from './load/vegeta.js';
import type { Measurement } from './results.js';
import type { ScenarioContext } from './scenario.js';
import { quantile, spread } from './stats.js';

/** How one point of a curve was measured. */
export type GrowthMethod = 'open-loop' | 'one at a time' | 'database direct';

/** An operation's latency at one size, in ms. */
export interface GrowthPoint {
  readonly op: string;
  readonly size: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly method: GrowthMethod;
  /** Responses per second: the fixed rate open-loop, what one client got one at a time. */
  readonly throughput: number;
}

/**
 * One open-loop vegeta run over `measured` at `rate` after an unmeasured one over `warmup`.
 * Separate target lists, because vegeta starts each attack at the first target: reads meant
 * to miss a cache must not have been sent by the warmup already.
 */
export async function openLoopTargets(
  context: ScenarioContext,
  label: string,
  targets: { readonly warmup: readonly VegetaTarget[]; readonly measured: readonly VegetaTarget[] },
  rate: number,
  seconds = context.profile.openLoopSeconds,
): Promise<VegetaResult> {
  const { profile, tools } = context;
  const [first] = targets.measured;
  if (!first) throw new RangeError(`${label}: no targets`);
  const options = { bin: tools.vegeta, url: first.url, rate };
  if (profile.warmupSeconds > 0 && targets.warmup.length > 0) {
    await runVegeta({ ...options, targets: targets.warmup, seconds: profile.warmupSeconds });
  }
  const result = await runVegeta({
    ...options,
    targets: targets.measured,
    seconds,
  });
  if (result.requests === 0 || result.success < 0.99) {
    throw new Error(
      `${label}: ${((1 - result.success) * 100).toFixed(1)}% of ${String(result.requests)} requests failed at ${String(rate)} req/s (${result.errors.join('; ')})`,
    );
  }
  context.log(
    `  ${label}: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms at ${String(rate)} req/s`,
  );
  return result;
}

/** What {@link oneAtATime} measured. */
export interface Sequential {
  /** Latencies of the successful requests, in ms, in the order sent. */
  readonly ms: readonly number[];
  readonly failures: readonly string[];
  /** Wall-clock time of all the requests, in s. */
  readonly seconds: number;
}

/**
 * GETs `url` one request at a time (each sent when the last is answered) until `count` have
 * been sent or `budgetSeconds` has passed, at least once: for an operation so slow that any
 * useful open-loop rate would measure a queue, not the operation. Failures are recorded, not
 * thrown, so a slow point still reports what it could.
 */
export async function oneAtATime(
  url: string,
  count: number,
  budgetSeconds: number,
  timeoutSeconds = 120,
): Promise<Sequential> {
  const ms: number[] = [];
  const failures: string[] = [];
  const began = performance.now();
  do {
    const t0 = performance.now();
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
      const body = await response.text();
      if (response.ok) ms.push(performance.now() - t0);
      else failures.push(`${String(response.status)} ${body.slice(0, 200)}`);
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  } while (ms.length + failures.length < count && performance.now() - began < budgetSeconds * 1000);
  return { ms, failures, seconds: (performance.now() - began) / 1000 };
}

/** A point from a sequential run, or undefined when none of its requests succeeded. */
export function sequentialPoint(
  op: string,
  size: number,
  run: Sequential,
  method: GrowthMethod = 'one at a time',
): GrowthPoint | undefined {
  if (run.ms.length === 0) return undefined;
  const sorted = [...run.ms].sort((a, b) => a - b);
  return {
    op,
    size,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    requests: run.ms.length,
    method,
    throughput: run.ms.length / run.seconds,
  };
}

/** A point from an open-loop run at `rate`. */
export function openLoopPoint(
  op: string,
  size: number,
  rate: number,
  result: VegetaResult,
): GrowthPoint {
  return {
    op,
    size,
    p50: result.p50,
    p99: result.p99,
    requests: result.requests,
    method: 'open-loop',
    throughput: rate,
  };
}

/** A size as the table reads it: `100,000`. */
export function sizeText(size: number): string {
  return size.toLocaleString('en-US');
}

/** What a size counts, singular and plural: `{ one: 'line', many: 'lines' }`. */
export interface SizeUnit {
  readonly one: string;
  readonly many: string;
}

/** A size with its unit: `1 line`, `100,000 products`. */
export function sizeWith(size: number, unit: SizeUnit): string {
  return `${sizeText(size)} ${size === 1 ? unit.one : unit.many}`;
}

/** p50 and p99 of every point as plain measurements (one sample each: a curve has no rounds). */
export function growthMeasurements(points: readonly GrowthPoint[], unit: SizeUnit): Measurement[] {
  return points.flatMap((p): Measurement[] => [
    { name: `${p.op} p50, ${sizeWith(p.size, unit)}`, unit: 'ms', value: spread([p.p50]) },
    { name: `${p.op} p99, ${sizeWith(p.size, unit)}`, unit: 'ms', value: spread([p.p99]) },
  ]);
}

/** The chart of a growth curve: p50 and p99 of each operation against size, both on log axes. */
export function growthChart(
  title: string,
  xLabel: string,
  ops: readonly string[],
  points: readonly GrowthPoint[],
): Promise<string> {
  const series: ChartSeries[] = ops.flatMap((op) => {
    const mine = points.filter((p) => p.op === op).sort((a, b) => a.size - b.size);
    return [
      { name: `${op} p50`, points: mine.map((p) => ({ x: p.size, y: p.p50 })) },
      { name: `${op} p99`, points: mine.map((p) => ({ x: p.size, y: p.p99 })) },
    ];
  });
  // Log y too: a scan's milliseconds and seconds share the chart with the flat reads.
  return lineChartSvg({ title, xLabel, yLabel: 'latency (ms)', xLog: true, yLog: true, series });
}

/**
 * How much an operation's p50 grew per tenfold size between neighbouring points: ~1 is flat,
 * ~10 linear in size. For the notes, e.g. `×1.0, ×9.8`.
 */
export function growthFactors(points: readonly GrowthPoint[], op: string): string {
  const mine = points.filter((p) => p.op === op).sort((a, b) => a.size - b.size);
  const factors: string[] = [];
  for (let i = 1; i < mine.length; i++) {
    const [a, b] = [mine[i - 1], mine[i]];
    if (!a || !b || a.p50 <= 0 || b.size <= a.size) continue;
    const perDecade = (b.p50 / a.p50) ** (1 / Math.log10(b.size / a.size));
    factors.push(`×${perDecade.toFixed(1)}`);
  }
  return factors.length > 0 ? factors.join(', ') : 'n/a';
}

/**
 * Runs one point's measurement. On a shared machine one point can drown in someone else's load
 * (a 504 storm for a few seconds): its error is kept for the notes and the curve goes on
 * without it, rather than the whole scenario failing for one point.
 */
export async function attempt<T>(
  label: string,
  failures: string[],
  run: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    failures.push(message.startsWith(label) ? message : `${label}: ${message}`);
    return undefined;
  }
}
