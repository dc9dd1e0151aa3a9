/** A source of uniform numbers in [0, 1), injected so that tests are deterministic. */
export type Random = () => number;

/**
 * A seeded generator (mulberry32): the same seed gives the same sequence, which lets a test
 * replay a journey exactly. Not for anything secret.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number from `min` to `max`, both included. */
export function intBetween(min: number, max: number, random: Random): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One item of a list, or undefined for an empty one. */
export function pickOne<T>(items: readonly T[], random: Random): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(random() * items.length)];
}

/** True with probability `p`. */
export function chance(p: number, random: Random): boolean {
  return random() < p;
}
