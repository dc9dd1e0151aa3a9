/** Options of {@link createPacer}. */
export interface PacerOptions {
  /** Arrivals per second (requests, across all shoppers); more than 0. */
  rps: number;
  /** At most this many requests in flight; a tick beyond it is dropped. */
  concurrency: number;
  /** When the first tick falls, in ms on the caller's clock. */
  startMs: number;
}

/** What the pacer did so far. */
export interface PacerStats {
  /** Ticks that came due: always admitted + dropped. */
  ticks: number;
  admitted: number;
  /** Ticks that found every slot taken (or fell too far behind) and were let go. */
  dropped: number;
  inFlight: number;
}

/**
 * An open-loop arrival schedule: tick k falls at `startMs + k / rps` whatever happened to the
 * requests before it, so a slow store sees the offered load instead of a politely slowed one
 * (no coordinated omission). A tick that finds `concurrency` requests in flight is dropped and
 * counted, never queued: a queue would turn the open loop back into a closed one.
 */
export interface Pacer {
  /** The number of ticks due by `nowMs` that were not handed out yet (at most one second's worth). */
  due(nowMs: number): number;
  /** When the next tick falls, in ms on the same clock. */
  nextTickAt(): number;
  /** Takes an in-flight slot for a due tick; false (and counted as dropped) at the cap. */
  admit(): boolean;
  /** Takes back an admission whose tick found nothing to send: the tick counts as dropped. */
  cancel(): void;
  /** Gives back the slot of a request that ended. */
  release(): void;
  stats(): PacerStats;
}

/** Creates a pacer; pure arithmetic over the times it is given, no timers. */
export function createPacer(options: PacerOptions): Pacer {
  if (!(options.rps > 0)) throw new RangeError('rps must be more than 0');
  if (!(options.concurrency >= 1)) throw new RangeError('concurrency must be at least 1');
  const intervalMs = 1000 / options.rps;
  // After a stall (a long GC, a suspended laptop) only the last second's ticks are still sent;
  // the older ones count as dropped rather than arriving as one burst.
  const maxBurst = Math.max(1, Math.ceil(options.rps));
  let issued = 0;
  let admitted = 0;
  let dropped = 0;
  let inFlight = 0;

  return {
    due(nowMs) {
      if (nowMs < options.startMs) return 0;
      // Tick k is due when k * interval <= elapsed; the epsilon absorbs float error at exact
      // boundaries (e.g. 3 * (1000 / 3)).
      const dueTotal = Math.floor((nowMs - options.startMs) / intervalMs + 1e-9) + 1;
      const behind = dueTotal - issued;
      if (behind <= 0) return 0;
      const run = Math.min(behind, maxBurst);
      dropped += behind - run;
      issued = dueTotal;
      return run;
    },
    nextTickAt: () => options.startMs + issued * intervalMs,
    admit() {
      if (inFlight >= options.concurrency) {
        dropped++;
        return false;
      }
      inFlight++;
      admitted++;
      return true;
    },
    cancel() {
      if (inFlight > 0) inFlight--;
      admitted--;
      dropped++;
    },
    release() {
      if (inFlight > 0) inFlight--;
    },
    stats: () => ({ ticks: issued, admitted, dropped, inFlight }),
  };
}
