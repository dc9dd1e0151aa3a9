import { z } from 'zod';
import type { Random } from './random.js';
import { percentile } from './summary.js';

/** The statuses an order ends in: the saga has nothing more to do with it. */
export const FINAL_STATUSES = ['SHIPPED', 'CANCELLED'] as const;

/** A final status. */
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** The goal an order is held to: final this long after it was placed at the latest. */
export const FINALITY_GOAL_MS = 60_000;

/** The status of an order accepted but not read back yet. */
export const UNSEEN = 'UNSEEN';

/** The status of an order the store answered 404 for after accepting it: a lost order. */
export const NOT_FOUND = 'NOT_FOUND';

/** The part of `GET /api/orders/:id` that tells whether and when the order became final. */
const OrderViewSchema = z.looseObject({
  orderId: z.string().min(1),
  status: z.string().min(1),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
  history: z.array(z.looseObject({ status: z.string(), at: z.string() })).optional(),
});

/** What the tracker reads of an order. */
export type OrderView = z.output<typeof OrderViewSchema>;

/** An order this run placed and has not seen final yet. */
export interface PendingOrder {
  orderId: string;
  /** The shopper who placed it: only their token may read it back. */
  user: string;
  /** When the checkout was accepted, on the runner's clock (ms). */
  placedAtMs: number;
  /** The last status read back: an order status, {@link UNSEEN} or {@link NOT_FOUND}. */
  status: string;
}

/** How the settle phase (reading orders back after the load) went. */
export interface SettleSummary {
  /**
   * `waiting`: the load is still running. `running`: reading orders back. `done`: every order
   * final, or the settle time ran out. `skipped`: settle 0, or the run was stopped before it.
   * `interrupted`: stopped during it.
   */
  state: 'waiting' | 'running' | 'done' | 'skipped' | 'interrupted';
  /** The settle time: how long after the last checkout orders may take to become final. */
  limitMs: number;
  elapsedSeconds: number;
  /** Passes over the orders not yet final. */
  rounds: number;
  /** Orders read back (`GET /api/orders/:id`), and how many of those reads failed. */
  reads: number;
  failedReads: number;
}

/** What became of the orders a run placed. */
export interface OrdersSummary {
  placed: number;
  /** Orders seen SHIPPED or CANCELLED. */
  final: number;
  shipped: number;
  cancelled: number;
  /** Orders not seen final (yet), by their last status read back. */
  notFinal: number;
  notFinalByStatus: Record<string, number>;
  /** Oldest orders forgotten to bound memory on an endless run; neither final nor not. */
  untracked: number;
  /**
   * From the order's creation to its final status, by the order's own history (the store's
   * clock, so the interval of reading it back does not blur it), in ms; null before any.
   */
  timeToFinal: {
    p50Ms: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
  };
  /** The finality goal (60 s) and how many final orders took longer. */
  lateAfterMs: number;
  late: number;
  settle: SettleSummary;
}

/** Options of {@link createOrderTracker}. */
export interface OrderTrackerOptions {
  random: Random;
  /** Time-to-final samples kept (default 10 000); beyond, a uniform sample of them all. */
  maxSamples?: number;
  /** Orders not final kept in memory (default 100 000); beyond, the oldest are forgotten. */
  maxPending?: number;
}

/** The orders a run placed, followed until they are final. */
export interface OrderTracker {
  /** An accepted checkout. */
  placed(orderId: string, user: string, atMs: number): void;
  /**
   * An order as `GET /api/orders/:id` answered it; ignored unless this run placed it and has not
   * seen it final. True when the order is (now) known final.
   */
  observe(body: unknown): boolean;
  /** The store answered 404 for an order it had accepted. */
  missing(orderId: string): void;
  /** The orders not seen final, oldest first. */
  pending(): PendingOrder[];
  /** When the last checkout was accepted; undefined before the first. */
  lastPlacedAtMs(): number | undefined;
  summary(settle: SettleSummary): OrdersSummary;
}

const isFinal = (status: string): status is FinalStatus =>
  (FINAL_STATUSES as readonly string[]).includes(status);

/**
 * Milliseconds from `createdAt` to the first final entry of the history (else `updatedAt`, for
 * a store that keeps no history); undefined when the answer lacks the times.
 */
export function timeToFinalMs(order: OrderView): number | undefined {
  const created = Date.parse(order.createdAt ?? '');
  const finalAt = order.history?.find((entry) => isFinal(entry.status))?.at ?? order.updatedAt;
  const ended = Date.parse(finalAt ?? '');
  if (Number.isNaN(created) || Number.isNaN(ended)) return undefined;
  // Clocks of one store never run backwards across its own writes, but a bad record must not
  // turn into a negative latency.
  return Math.max(0, ended - created);
}

/**
 * Creates a tracker. Orders seen final are dropped and only counted, so memory follows the
 * orders still in flight, not the run's length; time-to-final samples go into a reservoir
 * (algorithm R), exact below `maxSamples` orders.
 */
export function createOrderTracker(options: OrderTrackerOptions): OrderTracker {
  const maxSamples = options.maxSamples ?? 10_000;
  const maxPending = options.maxPending ?? 100_000;
  const pending = new Map<string, PendingOrder>();
  const samples: number[] = [];
  let seen = 0;
  let maxMs: number | undefined;
  let placed = 0;
  let shipped = 0;
  let cancelled = 0;
  let late = 0;
  let untracked = 0;
  let lastPlacedAtMs: number | undefined;

  const sample = (ms: number): void => {
    seen++;
    maxMs = Math.max(maxMs ?? 0, ms);
    if (ms > FINALITY_GOAL_MS) late++;
    if (samples.length < maxSamples) {
      samples.push(ms);
    } else {
      const slot = Math.floor(options.random() * seen);
      if (slot < maxSamples) samples[slot] = ms;
    }
  };

  return {
    placed(orderId, user, atMs) {
      placed++;
      lastPlacedAtMs = atMs;
      pending.set(orderId, { orderId, user, placedAtMs: atMs, status: UNSEEN });
      if (pending.size > maxPending) {
        // Map keeps insertion order: the first key is the oldest order.
        const oldest = pending.keys().next().value;
        if (oldest !== undefined) pending.delete(oldest);
        untracked++;
      }
    },
    observe(body) {
      const parsed = OrderViewSchema.safeParse(body);
      if (!parsed.success) return false;
      const order = pending.get(parsed.data.orderId);
      if (!order) return false;
      const { status } = parsed.data;
      if (!isFinal(status)) {
        order.status = status;
        return false;
      }
      pending.delete(order.orderId);
      if (status === 'SHIPPED') shipped++;
      else cancelled++;
      const ms = timeToFinalMs(parsed.data);
      if (ms !== undefined) sample(ms);
      return true;
    },
    missing(orderId) {
      const order = pending.get(orderId);
      if (order) order.status = NOT_FOUND;
    },
    pending: () => [...pending.values()],
    lastPlacedAtMs: () => lastPlacedAtMs,
    summary(settle) {
      const notFinalByStatus: Record<string, number> = {};
      for (const order of pending.values()) {
        notFinalByStatus[order.status] = (notFinalByStatus[order.status] ?? 0) + 1;
      }
      const sorted = [...samples].sort((a, b) => a - b);
      const at = (p: number): number | null => percentile(sorted, p) ?? null;
      return {
        placed,
        final: shipped + cancelled,
        shipped,
        cancelled,
        notFinal: pending.size,
        notFinalByStatus,
        untracked,
        timeToFinal: { p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: maxMs ?? null },
        lateAfterMs: FINALITY_GOAL_MS,
        late,
        settle: { ...settle },
      };
    },
  };
}

/** `POST /api/orders` → 202 `{orderId}`. */
const OrderAcceptedSchema = z.looseObject({ orderId: z.string().min(1) });

/** The id of the order an accepted checkout answered with; undefined for another body. */
export function acceptedOrderId(body: unknown): string | undefined {
  const parsed = OrderAcceptedSchema.safeParse(body);
  return parsed.success ? parsed.data.orderId : undefined;
}
