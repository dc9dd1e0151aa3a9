import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyedMutex, withMongoUnavailable, type KeyedMutex } from '@emporium/platform';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import {
  canTransition,
  confirmAction,
  DEFAULT_RESERVATION_TTL_MS,
  expiryAfter,
  isAbandoned,
  isExpired,
  isExpiryUnfinished,
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

/** What an OrderPlaced came to for the order's reservation. */
export type ConfirmOutcome =
  /** RESERVED → CONFIRMED now: its units no longer expire. */
  | 'confirmed'
  /** Already confirmed, or already committed by a shipment seen first (a redelivery). */
  | 'already'
  /** It had expired; its units were free again and are held (and confirmed) once more. */
  | 'reinstated'
  /** It had expired and its units are gone to other orders: the order has no stock. */
  | 'lost'
  /** No reservation, or one a cancel released before the OrderPlaced was seen. */
  | 'unknown'
  /** An attempt is still reserving; the caller should retry later. */
  | 'pending';

/** What one expiry attempt came to. */
export type ExpireOutcome =
  /** This call moved it to EXPIRED and gave its units back (counted once per reservation). */
  | 'expired'
  /** It was already EXPIRED (a crash or another sweep midway); this call finished the return. */
  | 'finished'
  /** It was confirmed, settled or renewed first; nothing moved. */
  | 'skipped';

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

/** The index the sweeper's query is answered from (only unconfirmed reservations have the field). */
export const EXPIRY_INDEX_NAME = 'expires_at';

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
  /** RESERVED/CONFIRMED → COMMITTED: the held units leave with the shipment. */
  commit(orderId: string): Promise<SettleOutcome>;
  /** RESERVED → CONFIRMED (the order exists); an expired one is held again if it can be. */
  confirm(orderId: string): Promise<ConfirmOutcome>;
  /** Up to `limit` reservations with `expiresAt` ≤ now, oldest first: the sweeper's work list. */
  findExpired(limit: number): Promise<Reservation[]>;
  /** RESERVED (or abandoned RESERVING) past its expiry → EXPIRED, its units back, once. */
  expire(orderId: string): Promise<ExpireOutcome>;
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
    /** How long units stay held for an order not yet seen placed (RESERVATION_TTL_MS). */
    ttlMs?: number;
  } = {},
): ReservationsRepository {
  const collection = db.collection<Reservation>('reservations');
  const timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const ttlMs = options.ttlMs ?? DEFAULT_RESERVATION_TTL_MS;
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
    const at = now();
    // The expiry counts from the moment the units are held (a taken-over attempt may be old).
    await serial(orderId, () =>
      collection.updateOne(
        { orderId, status: 'RESERVING' },
        {
          $set: {
            status: 'RESERVED',
            updatedAt: at.toISOString(),
            expiresAt: expiryAfter(at, ttlMs),
          },
        },
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
        // A cancel of an expired order: its units are back (or being given back) already.
        if (existing.status === 'EXPIRED' && to === 'RELEASED') return 'already';
        if (existing.status === 'RESERVING') return 'pending';
        if (!canTransition(existing.status, to)) return 'conflict';
        // Conditioned on the status read: of two racing moves (a settle on another replica, an
        // expiry) only one wins, and the loser must not move units the winner owns.
        const result = await collection.updateOne(
          { orderId, status: existing.status },
          { $set: { status: to, updatedAt: now().toISOString() }, $unset: { expiresAt: '' } },
        );
        if (result.modifiedCount === 1) return 'settled';
        const after = (await find(orderId))?.status;
        // Losing a cancel to an expiry is no conflict: the units go back either way.
        return after === to || (after === 'EXPIRED' && to === 'RELEASED') ? 'already' : 'conflict';
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

  /** Holds every line for the order or none; waits a while for an attempt in progress. */
  const reserveAll = async (
    orderId: string,
    lines: readonly ReservationLine[],
  ): Promise<ReserveOutcome> => {
    const deadline = Date.now() + timings.waitMs;
    for (;;) {
      const attempt = startReservation(orderId, lines, now(), ttlMs);
      if (await insertIfAbsent(attempt)) return complete(attempt);
      const existing = await find(orderId);
      // Gone between the insert and the read: the other attempt failed and removed itself.
      if (existing) {
        // An expired reservation holds nothing: a retry of the order (its first store
        // failed) reserves afresh instead of being told its stock is held.
        if (existing.status === 'EXPIRED') {
          await discardExpired(existing);
          continue;
        }
        if (isVisible(existing)) return { kind: 'existing', reservation: existing };
        // The stored lines win over the retry's: an order id names one set of lines.
        if (isAbandoned(existing, now(), timings.leaseMs) && (await claim(existing))) {
          return complete(existing);
        }
      }
      if (Date.now() >= deadline) return { kind: 'in-progress' };
      await sleep(timings.pollMs);
    }
  };

  /** Gives back whatever units an expired reservation still holds, then drops its expiry. */
  const finishExpiry = async (expired: Reservation): Promise<void> => {
    for (const line of expired.lines) {
      await stock.giveBack(line.sku, expired.orderId, line.quantity, now());
    }
    await serial(expired.orderId, () =>
      collection.updateOne(
        { orderId: expired.orderId, status: 'EXPIRED' },
        { $unset: { expiresAt: '' } },
      ),
    );
  };

  /** Removes an expired reservation (its units back first) so the order id may reserve again. */
  const discardExpired = async (expired: Reservation): Promise<void> => {
    await finishExpiry(expired);
    await serial(expired.orderId, () =>
      collection.deleteOne({ orderId: expired.orderId, status: 'EXPIRED' }),
    );
  };

  /** RESERVED → CONFIRMED, conditioned on RESERVED: an expiry and a confirm never both win. */
  const confirmHeld = (orderId: string): Promise<boolean> =>
    serial(orderId, async () => {
      const result = await collection.updateOne(
        { orderId, status: 'RESERVED' },
        {
          $set: { status: 'CONFIRMED', updatedAt: now().toISOString() },
          $unset: { expiresAt: '' },
        },
      );
      return result.modifiedCount === 1;
    });

  const confirm = async (orderId: string): Promise<ConfirmOutcome> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await find(orderId);
      const action = existing ? confirmAction(existing) : 'unknown';
      if (!existing || action === 'unknown') return 'unknown';
      switch (action) {
        case 'confirm':
          if (await confirmHeld(orderId)) return 'confirmed';
          continue; // an expiry or a settle won the race: look again
        case 'none':
          return 'already';
        case 'wait':
          return 'pending';
        case 'reinstate': {
          // The order exists after all (its OrderPlaced came later than the TTL): hold its
          // units again, all or none, from what is free now.
          await discardExpired(existing);
          const outcome = await reserveAll(orderId, existing.lines);
          if (outcome.kind === 'short') return 'lost';
          if (outcome.kind === 'in-progress') return 'pending';
          if (await confirmHeld(orderId)) return 'reinstated';
          continue;
        }
      }
    }
    return 'pending';
  };

  const expire = async (orderId: string): Promise<ExpireOutcome> => {
    const current = await find(orderId);
    if (!current) return 'skipped';
    let outcome: ExpireOutcome = 'finished';
    if (!isExpiryUnfinished(current)) {
      const at = now();
      if (!isExpired(current, at, timings.leaseMs)) return 'skipped';
      // Conditioned on what made it expired: the status (a confirm or a settle moves it), the
      // expiry, and for an abandoned attempt its updatedAt (a retry that claims it changes it).
      const filter =
        current.status === 'RESERVING'
          ? { orderId, status: 'RESERVING' as const, updatedAt: current.updatedAt }
          : { orderId, status: 'RESERVED' as const };
      const result = await serial(orderId, () =>
        collection.updateOne(
          { ...filter, expiresAt: { $lte: at.toISOString() } },
          { $set: { status: 'EXPIRED', updatedAt: at.toISOString() } },
        ),
      );
      if (result.modifiedCount !== 1) return 'skipped';
      outcome = 'expired';
    }
    // The status moved first; now the units, each at most once (stock `holds`).
    await finishExpiry(current);
    return outcome;
  };

  return {
    collection,
    ensureIndexes: async () => {
      await collection.createIndex({ orderId: 1 }, { unique: true, name: 'order_unique' });
      await collection.createIndex({ expiresAt: 1 }, { name: EXPIRY_INDEX_NAME });
    },
    find: (orderId) => withMongoUnavailable(() => find(orderId)),
    reserve: (orderId, lines) => withMongoUnavailable(() => reserveAll(orderId, lines)),
    release: (orderId) =>
      settle(orderId, 'RELEASED', (line) =>
        stock.giveBack(line.sku, orderId, line.quantity, now()),
      ),
    commit: (orderId) =>
      settle(orderId, 'COMMITTED', (line) => stock.commit(line.sku, orderId, line.quantity, now())),
    confirm: (orderId) => withMongoUnavailable(() => confirm(orderId)),
    findExpired: (limit) =>
      withMongoUnavailable(() =>
        // A range on one indexed field, sorted by it: simple enough for FerretDB on SQLite.
        collection
          .find({ expiresAt: { $lte: now().toISOString() } }, { projection: { _id: 0 } })
          .sort({ expiresAt: 1 })
          .limit(limit)
          .toArray(),
      ),
    expire: (orderId) => withMongoUnavailable(() => expire(orderId)),
  };
}
