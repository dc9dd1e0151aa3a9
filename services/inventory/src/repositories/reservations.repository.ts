import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyedMutex, withMongoUnavailable, type KeyedMutex } from '@emporium/platform';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import {
  canTransition,
  isAbandoned,
  isVisible,
  startReservation,
  type Reservation,
  type ReservationLine,
  type ReservationStatus,
  type VisibleReservation,
} from '../domain/reservation.js';
import { shortSkus, type TakeResult } from '../domain/stock.js';
import type { StockRepository } from './stock.repository.js';

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/** What a reservation request came to. */
export type ReserveOutcome =
  | { kind: 'created'; reservation: VisibleReservation }
  | { kind: 'existing'; reservation: VisibleReservation }
  | { kind: 'short'; skus: string[] }
  | { kind: 'in-progress' };

/** What releasing or committing an order's reservation came to. */
export type SettleOutcome =
  /** The reservation moved now. */
  | 'settled'
  /** It was already in the target status (a redelivery); its stock moves were re-checked. */
  | 'already'
  /** Inventory holds no reservation for the order. */
  | 'unknown'
  /** It is in the other final status (e.g. a cancel after the shipment); nothing moved. */
  | 'conflict'
  /** An attempt is still reserving; the caller should retry later. */
  | 'pending';

/** Timing of the all-or-none algorithm; the defaults suit production, tests shorten them. */
export interface ReservationTimings {
  /** How long a duplicate request waits for an attempt in progress before answering 409. */
  waitMs: number;
  /** Between two looks at an attempt in progress. */
  pollMs: number;
  /** An attempt silent for this long is abandoned (its process died) and may be taken over. */
  leaseMs: number;
}

const DEFAULT_TIMINGS: ReservationTimings = { waitMs: 3_000, pollMs: 25, leaseMs: 30_000 };

/** Reservations in MongoDB, one per order, and the all-or-none reserve over the stock. */
export interface ReservationsRepository {
  readonly collection: Collection<Reservation>;
  ensureIndexes(): Promise<void>;
  /** The order's reservation in any status, RESERVING included. */
  find(orderId: string): Promise<Reservation | null>;
  /** Holds every line for the order or none; idempotent by order id. */
  reserve(orderId: string, lines: readonly ReservationLine[]): Promise<ReserveOutcome>;
  /** RESERVED → RELEASED: the held units go back to available. */
  release(orderId: string): Promise<SettleOutcome>;
  /** RESERVED → COMMITTED: the held units leave with the shipment. */
  commit(orderId: string): Promise<SettleOutcome>;
}

/**
 * Creates the repository over `<db>.reservations`.
 *
 * FerretDB 1.24 has no multi-document transactions, so a reservation is a small saga: the
 * RESERVING document is inserted first (its unique order id makes every retry find it), then
 * each line is taken with a conditional single-document update, and a failed line gives back
 * what was taken and deletes the document. Each stock step is recorded in the stock document's
 * `holds`, so redoing an attempt (a retry after a crash) never takes or returns units twice.
 */
export function reservationsRepository(
  db: Db,
  stock: StockRepository,
  options: {
    timings?: Partial<ReservationTimings>;
    now?: () => Date;
    mutex?: KeyedMutex;
  } = {},
): ReservationsRepository {
  const collection = db.collection<Reservation>('reservations');
  const timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const now = options.now ?? (() => new Date());
  const mutex = options.mutex ?? createKeyedMutex();
  const serial = <T>(orderId: string, task: () => Promise<T>): Promise<T> =>
    mutex.run(`reservation:${orderId}`, task);

  const find = (orderId: string): Promise<Reservation | null> =>
    collection.findOne({ orderId }, { projection: { _id: 0 } });

  const insertIfAbsent = async (reservation: Reservation): Promise<boolean> => {
    try {
      await collection.insertOne({ ...reservation });
      return true;
    } catch (err) {
      if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
      throw err;
    }
  };

  /** Takes every line of a RESERVING attempt, then settles it as RESERVED or undoes it. */
  const complete = async (attempt: Reservation): Promise<ReserveOutcome> => {
    const { orderId } = attempt;
    const results: { sku: string; quantity: number; result: TakeResult }[] = [];
    // Every line is tried (not only up to the first short one) so the 409 names all short skus.
    for (const line of attempt.lines) {
      results.push({ ...line, result: await stock.take(line.sku, orderId, line.quantity, now()) });
    }
    const short = shortSkus(results);
    if (short.length > 0) {
      for (const line of results.filter((l) => l.result !== 'short')) {
        await stock.giveBack(line.sku, orderId, line.quantity, now());
      }
      // Deleted, not kept as failed: nothing is held, and a later retry may try afresh.
      await serial(orderId, () => collection.deleteOne({ orderId, status: 'RESERVING' }));
      return { kind: 'short', skus: short };
    }
    const updatedAt = now().toISOString();
    await serial(orderId, () =>
      collection.updateOne(
        { orderId, status: 'RESERVING' },
        { $set: { status: 'RESERVED', updatedAt } },
      ),
    );
    const stored = await find(orderId);
    return stored && isVisible(stored)
      ? { kind: 'created', reservation: stored }
      : { kind: 'in-progress' };
  };

  /** Takes over an abandoned attempt; false when another request got it first. */
  const claim = (abandoned: Reservation): Promise<boolean> =>
    serial(abandoned.orderId, async () => {
      const result = await collection.updateOne(
        { orderId: abandoned.orderId, status: 'RESERVING', updatedAt: abandoned.updatedAt },
        { $set: { updatedAt: now().toISOString() } },
      );
      return result.modifiedCount === 1;
    });

  /** Moves a reservation to RELEASED or COMMITTED and its held units with it. */
  const settle = (
    orderId: string,
    to: Extract<ReservationStatus, 'RELEASED' | 'COMMITTED'>,
    move: (line: ReservationLine) => Promise<boolean>,
  ): Promise<SettleOutcome> =>
    withMongoUnavailable(async () => {
      const outcome = await serial(orderId, async (): Promise<SettleOutcome> => {
        const existing = await find(orderId);
        if (!existing) return 'unknown';
        if (existing.status === to) return 'already';
        if (existing.status === 'RESERVING') return 'pending';
        if (!canTransition(existing.status, to)) return 'conflict';
        // Conditioned on the status read: on MongoDB only one of two racing settles wins.
        const result = await collection.updateOne(
          { orderId, status: existing.status },
          { $set: { status: to, updatedAt: now().toISOString() } },
        );
        return result.modifiedCount === 1 ? 'settled' : 'already';
      });
      if (outcome === 'settled' || outcome === 'already') {
        // The status moves before the units: a crash in between leaves a RELEASED/COMMITTED
        // order whose units still sit in `holds`, which the redelivered event moves here
        // (each move is a no-op for an order no longer in `holds`).
        const reservation = await find(orderId);
        for (const line of reservation?.lines ?? []) await move(line);
      }
      return outcome;
    });

  return {
    collection,
    ensureIndexes: async () => {
      await collection.createIndex({ orderId: 1 }, { unique: true, name: 'order_unique' });
    },
    find: (orderId) => withMongoUnavailable(() => find(orderId)),
    reserve: (orderId, lines) =>
      withMongoUnavailable(async () => {
        const deadline = Date.now() + timings.waitMs;
        for (;;) {
          const attempt = startReservation(orderId, lines, now());
          if (await insertIfAbsent(attempt)) return complete(attempt);
          const existing = await find(orderId);
          // Gone between the insert and the read: the other attempt failed and removed itself.
          if (existing) {
            if (isVisible(existing)) return { kind: 'existing', reservation: existing };
            // The stored lines win over the retry's: an order id names one set of lines.
            if (isAbandoned(existing, now(), timings.leaseMs) && (await claim(existing))) {
              return complete(existing);
            }
          }
          if (Date.now() >= deadline) return { kind: 'in-progress' };
          await sleep(timings.pollMs);
        }
      }),
    release: (orderId) =>
      settle(orderId, 'RELEASED', (line) =>
        stock.giveBack(line.sku, orderId, line.quantity, now()),
      ),
    commit: (orderId) =>
      settle(orderId, 'COMMITTED', (line) => stock.commit(line.sku, orderId, line.quantity, now())),
  };
}
