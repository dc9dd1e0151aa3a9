import type { Journey, JourneyOutcome } from './journey.js';

/** Options of {@link createShoppers}. */
export interface ShoppersOptions {
  /** The demo users' names; each is in at most one journey at a time. */
  users: readonly string[];
  /** Starts a journey for a free user. */
  startJourney: (user: string) => Journey;
}

/**
 * The shoppers and their journeys in progress. A user is in one journey at a time, because
 * two visits of one user would share (and empty) one cart. Journeys waiting for their next
 * step go first, so a visit, once started, finishes before new ones crowd it out.
 */
export interface Shoppers {
  /** A journey whose next step should be sent now: a waiting one, else a new one; none if every user is busy. */
  take(): Journey | undefined;
  /** Hands back a journey after its step: queued for the next step, or ended and its user freed. */
  settle(journey: Journey): JourneyOutcome | undefined;
  /** Journeys started and not ended. */
  open(): number;
}

/** Creates the shoppers over a fixed list of users. */
export function createShoppers(options: ShoppersOptions): Shoppers {
  const free = [...options.users];
  const waiting: Journey[] = [];
  let open = 0;
  return {
    take() {
      const queued = waiting.shift();
      if (queued) return queued;
      const user = free.shift();
      if (user === undefined) return undefined;
      open++;
      return options.startJourney(user);
    },
    settle(journey) {
      const outcome = journey.outcome();
      if (outcome === undefined && journey.next() !== undefined) {
        waiting.push(journey);
        return undefined;
      }
      open--;
      // Back of the line: every user gets a turn before one comes round again.
      free.push(journey.user);
      return outcome ?? 'failed';
    },
    open: () => open,
  };
}
