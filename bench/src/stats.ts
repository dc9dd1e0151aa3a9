/** The centre and spread of one quantity measured over several rounds. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** First and third quartiles (linear interpolation between the sorted samples). */
  readonly q1: number;
  readonly q3: number;
  readonly samples: readonly number[];
}

/** The q-quantile (0–1) of sorted samples, interpolating linearly between neighbours. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no samples');
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  const low = sorted[lo] ?? Number.NaN;
  const high = sorted[hi] ?? Number.NaN;
  return low + (high - low) * (at - lo);
}

/** Median, min–max and quartiles of a round's samples; throws on none or a non-finite one. */
export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new RangeError('no samples to summarise');
  const bad = samples.find((x) => !Number.isFinite(x));
  if (bad !== undefined) throw new RangeError(`not a finite sample: ${String(bad)}`);
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    samples: [...samples],
  };
}

/** Element-wise a[i] / b[i]: one ratio per round, so drift between rounds cancels out. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError('both sides need the same number of rounds');
  return a.map((x, i) => x / (b[i] ?? Number.NaN));
}

/** Element-wise a[i] - b[i]: what side A adds to side B in each round. */
export function differences(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError('both sides need the same number of rounds');
  return a.map((x, i) => x - (b[i] ?? Number.NaN));
}
