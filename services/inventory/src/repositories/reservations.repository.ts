import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyedMutex, withMongoUnavailable, type KeyedMutex } from '@emporium/platform';
import type { Collection, Db } from 'mongodb';
import {
  canTransition,
  confirmAction,
  DEFAULT_RESERVATION_TTL_MS,
  expiryAfter,
  isAbandoned,
  isExpired,
  isExpiryUnfinished,
  isVisible,
  nextExpiryCheck,
  sameLines,
  startReservation,
  type Reservation,
  type ReservationLine,
  type ReservationStatus,
  type VisibleReservation,
} from '../domain/reservation.js';
import { shortSkus, type TakeResult } from '../domain/stock.js';
import { dropIndexIfPresent, isDuplicateKey } from './mongo-codes.js';
import type { StockRepository } from './stock.repository.js';

/**
 * A reservation as stored. `_id` is the order id (the `orderId` field stays for the API and the
 * domain): FerretDB 1.24 on SQLite answers only `_id` lookups from an index and decodes the whole
 * collection for any other filter, so every read and write of an order filters on `_id` (plus
 * the condition it needs). MongoDB and DocumentDB use the `_id` index the same way.
 */
export type ReservationDocument = Reservation & { _id: string };

/**
 * An entry of the sweeper's work list, `reservation_expiries`: `_id` is the order id, and
 * `expiresAt` is never later than the moment its reservation can next expire.
 */
export interface ExpiryEntry {
  _id: string;
  expiresAt: string;
}

/** A reservation the sweeper has to look at, as its work list names it. */
export interface DueExpiry {
  orderId: string;
  /** The work-list entry's time, passed back to {@link ReservationsRepository.expire}. */
  expiresAt: string;
}

/** What a reservation request came to. */
export type ReserveOutcome =
  | { kind: 'created'; reservation: VisibleReservation }
  | { kind: 'existing'; reservation: VisibleReservation }
  /** The order id was reserved before for other lines: nothing is held for these. */
  | { kind: 'mismatch'; reservation: Reservation }
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
  | 'pending'
  /**
   * A commit of an expired reservation whose units went to other orders meanwhile: the shipment
   * left with units the books no longer held for it. Nothing moved; an operator must reconcile.
   */
  | 'short';

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

/** The index of `reservation_expiries` the sweeper's range query is answered from (MongoDB). */
export const EXPIRY_INDEX_NAME = 'expires_at';

/** Reservations in MongoDB, one per order, and the all-or-none reserve over the stock. */
export interface ReservationsRepository {
  /** `reservations`: one document per order, `_id` = order id. */
  readonly collection: Collection<ReservationDocument>;
  /** `reservation_expiries`: the sweeper's work list, one entry per reservation that may expire. */
  readonly expiries: Collection<ExpiryEntry>;
  /** Creates the work list's index and drops the indexes `_id` made redundant. */
  ensureIndexes(): Promise<void>;
  /** The order's reservation in any status, RESERVING included. */
  find(orderId: string): Promise<Reservation | null>;
  /** Holds every line for the order or none; idempotent by order id. */
  reserve(orderId: string, lines: readonly ReservationLine[]): Promise<ReserveOutcome>;
  /** RESERVED → RELEASED: the held units go back to available. */
  release(orderId: string): Promise<SettleOutcome>;
  /** RESERVED/CONFIRMED (or EXPIRED, held again) → COMMITTED: the units leave with the shipment. */
  commit(orderId: string): Promise<SettleOutcome>;
  /** RESERVED → CONFIRMED (the order exists); an expired one is held again if it can be. */
  confirm(orderId: string): Promise<ConfirmOutcome>;
  /** Up to `limit` work-list entries due by now, oldest first: the sweeper's candidates. */
  findExpired(limit: number): Promise<DueExpiry[]>;
  /**
   * RESERVED (or abandoned RESERVING) past its expiry → EXPIRED, its units back, once. Given the
   * work-list entry's `dueAt` (the sweeper does), the entry is then removed, or moved to when the
   * reservation can next expire.
   */
  expire(orderId: string, dueAt?: string): Promise<ExpireOutcome>;
}

/**
 * Creates the repository over `<db>.reservations` and its sweeper work list
 * `<db>.reservation_expiries`.
 *
 * FerretDB 1.24 has no multi-document transactions, so a reservation is a small saga: the
 * RESERVING document is inserted first (its `_id`, the order id, makes every retry find it), then
 * each line is taken with a conditional single-document update, and a failed line gives back
 * what was taken and deletes the document. Each stock step is recorded in the stock document's
 * `holds`, so redoing an attempt (a retry after a crash) never takes or returns units twice.
 *
 * Expiry work list. The sweeper must not query `reservations` by `expiresAt`: FerretDB on SQLite
 * would decode every reservation ever made at each sweep. It reads `reservation_expiries`
 * instead, which only holds reservations that may still expire, so its size follows the orders
 * in flight, not the history. One rule keeps it crash-safe without transactions: an entry is
 * written before the first unit of an attempt is taken, and removed only after its reservation
 * can no longer expire (confirmed, settled, expired with units back, or deleted). A crash
 * between the two writes leaves an entry too many, never one too few; a stale entry costs one
 * look when it falls due. An entry is never later than its reservation's expiry (a RESERVED
 * expiry only moves later), so being early only means a look that moves it forward. The entry
 * is written just after the RESERVING insert, so a crash between the two leaves an attempt that
 * holds nothing and is not swept (a retry of the order takes it over); writing it before the
 * insert would let a duplicate request move an existing reservation's entry later.
 *
 * Why a collection of one small document per order: an index on `reservations.expiresAt` does
 * not help FerretDB (it pushes only `_id` down), and time buckets shared by many orders would
 * lose concurrent `$push`es, as FerretDB 1.24 does not apply updates atomically.
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
  const collection = db.collection<ReservationDocument>('reservations');
  const expiries = db.collection<ExpiryEntry>('reservation_expiries');
  const timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const ttlMs = options.ttlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const now = options.now ?? (() => new Date());
  const mutex = options.mutex ?? createKeyedMutex();
  const serial = <T>(orderId: string, task: () => Promise<T>): Promise<T> =>
    mutex.run(`reservation:${orderId}`, task);
  // Its own key: entry writes are made beside reservation writes, never inside one's lock.
  const serialEntry = <T>(orderId: string, task: () => Promise<T>): Promise<T> =>
    mutex.run(`expiry:${orderId}`, task);

  const find = (orderId: string): Promise<Reservation | null> =>
    collection.findOne({ _id: orderId }, { projection: { _id: 0 } });

  const insertIfAbsent = async (reservation: Reservation): Promise<boolean> => {
    try {
      await collection.insertOne({ _id: reservation.orderId, ...reservation });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  };

  /**
   * Puts the order on the sweeper's work list at `expiresAt`. `$set`, not `$min`: the caller owns
   * the attempt, so an older entry is stale (an earlier incarnation's) or the attempt's own.
   */
  const scheduleExpiry = (orderId: string, expiresAt: string): Promise<void> =>
    serialEntry(orderId, async () => {
      const write = (upsert: boolean) =>
        expiries.updateOne({ _id: orderId }, { $set: { expiresAt } }, { upsert });
      try {
        await write(true);
      } catch (err) {
        // Another writer inserted the entry first (a racing takeover); now it exists.
        if (!isDuplicateKey(err)) throw err;
        await write(false);
      }
    });

  /**
   * Takes the order off the work list. Unconditional, so only for a reservation that exists and
   * can never expire again (CONFIRMED, RELEASED, COMMITTED are final or lead to final), or one
   * still RESERVING and owned by the caller: no other incarnation of the order can exist then.
   */
  const unschedule = (orderId: string): Promise<unknown> =>
    serialEntry(orderId, () => expiries.deleteOne({ _id: orderId }));

  /** Takes every line of a RESERVING attempt, then settles it as RESERVED or undoes it. */
  const complete = async (attempt: Reservation): Promise<ReserveOutcome> => {
    const { orderId } = attempt;
    // On the work list before the first unit is taken: an attempt that dies from here on
    // holds units, and the sweeper must find it once it is past its expiry and abandoned.
    await scheduleExpiry(orderId, attempt.expiresAt ?? expiryAfter(now(), ttlMs));
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
      // The entry goes first, while the RESERVING document still keeps a new attempt of the
      // order (and its entry) out; a crash in between leaves an attempt holding nothing,
      // which a retry of the order takes over.
      await unschedule(orderId);
      // Deleted, not kept as failed: nothing is held, and a later retry may try afresh.
      await serial(orderId, () => collection.deleteOne({ _id: orderId, status: 'RESERVING' }));
      return { kind: 'short', skus: short };
    }
    const at = now();
    // The expiry counts from the moment the units are held (a taken-over attempt may be old).
    // It only moves later, so the entry written above is due no later than the reservation.
    await serial(orderId, () =>
      collection.updateOne(
        { _id: orderId, status: 'RESERVING' },
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
        { _id: abandoned.orderId, status: 'RESERVING', updatedAt: abandoned.updatedAt },
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
        // Conditioned on the status read: of two racing moves (a settle on another replica, an
        // expiry) only one wins, and the loser must not move units the winner owns.
        const result = await collection.updateOne(
          { _id: orderId, status: existing.status },
          { $set: { status: to, updatedAt: now().toISOString() }, $unset: { expiresAt: '' } },
        );
        // A cancel of an expired order: its units are back (or being given back) already.
        if (result.modifiedCount === 1)
          return existing.status === 'EXPIRED' ? 'already' : 'settled';
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
        // Settled for good: off the work list (a redelivery also removes an entry a crash
        // left behind). Not for an EXPIRED one: the sweeper owns that entry.
        if (reservation?.status === to) await unschedule(orderId);
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
        // An order id names one set of lines: a repeat with others (the cart changed before
        // a retry with the same Idempotency-Key) is refused, not answered with the old ones.
        if (!sameLines(existing.lines, lines)) return { kind: 'mismatch', reservation: existing };
        if (isVisible(existing)) return { kind: 'existing', reservation: existing };
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
        { _id: expired.orderId, status: 'EXPIRED' },
        { $unset: { expiresAt: '' } },
      ),
    );
  };

  /**
   * Removes an expired reservation (its units back first) so the order id may reserve again.
   * Its work-list entry, if the sweeper has not removed it yet, is left alone: the next attempt
   * overwrites it, and the sweeper only removes an entry still at the time it read.
   */
  const discardExpired = async (expired: Reservation): Promise<void> => {
    await finishExpiry(expired);
    await serial(expired.orderId, () =>
      collection.deleteOne({ _id: expired.orderId, status: 'EXPIRED' }),
    );
  };

  /** RESERVED → CONFIRMED, conditioned on RESERVED: an expiry and a confirm never both win. */
  const confirmHeld = async (orderId: string): Promise<boolean> => {
    const confirmed = await serial(orderId, async () => {
      const result = await collection.updateOne(
        { _id: orderId, status: 'RESERVED' },
        {
          $set: { status: 'CONFIRMED', updatedAt: now().toISOString() },
          $unset: { expiresAt: '' },
        },
      );
      return result.modifiedCount === 1;
    });
    // Confirmed for good: off the work list (a crash before this leaves a stale entry).
    if (confirmed) await unschedule(orderId);
    return confirmed;
  };

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
          // The order exists after all (its OrderPlaced came later than the TTL).
          const held = await reinstate(existing);
          if (held !== 'held') return held === 'short' ? 'lost' : 'pending';
          if (await confirmHeld(orderId)) return 'reinstated';
          continue;
        }
      }
    }
    return 'pending';
  };

  /**
   * Holds an expired reservation's units again, all or none, from what is free now: RESERVED
   * once more, under a new expiry.
   */
  const reinstate = async (expired: Reservation): Promise<'held' | 'short' | 'pending'> => {
    await discardExpired(expired);
    const outcome = await reserveAll(expired.orderId, expired.lines);
    if (outcome.kind === 'short') return 'short';
    return outcome.kind === 'in-progress' ? 'pending' : 'held';
  };

  /**
   * RESERVED/CONFIRMED → COMMITTED. An EXPIRED order shipped all the same (its events came later
   * than the TTL, after an outage): its units left the warehouse, so they are taken again from
   * what is free and committed, or it is `short` when other orders have them now.
   */
  const commit = async (orderId: string): Promise<SettleOutcome> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await withMongoUnavailable(() => find(orderId));
      if (existing?.status !== 'EXPIRED') {
        return settle(orderId, 'COMMITTED', (line) =>
          stock.commit(line.sku, orderId, line.quantity, now()),
        );
      }
      const held = await withMongoUnavailable(() => reinstate(existing));
      if (held !== 'held') return held;
      // RESERVED again: the next round commits it, unless another settle or expiry came first.
    }
    return 'pending';
  };

  const expireReservation = async (orderId: string): Promise<ExpireOutcome> => {
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
          ? { _id: orderId, status: 'RESERVING' as const, updatedAt: current.updatedAt }
          : { _id: orderId, status: 'RESERVED' as const };
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

  /**
   * After an expiry attempt, removes the work-list entry read at `dueAt`, or moves it to when the
   * reservation can next expire (a RESERVED one whose expiry is later, an attempt still alive).
   *
   * Both writes are conditioned on the entry still being at `dueAt`: if the order was expired,
   * discarded and reserved afresh meanwhile, the new attempt's entry is later than anything
   * already due, so it is never removed here.
   */
  const reconcileEntry = async (
    orderId: string,
    dueAt: string,
    outcome: ExpireOutcome,
  ): Promise<void> => {
    // Expired or finished: EXPIRED with its units back, it can never expire again.
    const current = outcome === 'skipped' ? await find(orderId) : null;
    const next = current ? nextExpiryCheck(current, timings.leaseMs) : undefined;
    await serialEntry(orderId, async () => {
      if (next === undefined) await expiries.deleteOne({ _id: orderId, expiresAt: dueAt });
      else if (next > dueAt) {
        await expiries.updateOne({ _id: orderId, expiresAt: dueAt }, { $set: { expiresAt: next } });
      }
    });
  };

  const expire = async (orderId: string, dueAt?: string): Promise<ExpireOutcome> => {
    const outcome = await expireReservation(orderId);
    if (dueAt !== undefined) await reconcileEntry(orderId, dueAt, outcome);
    return outcome;
  };

  return {
    collection,
    expiries,
    ensureIndexes: async () => {
      // The sweeper's range query, sorted by it: cheap on MongoDB and DocumentDB. FerretDB scans
      // the work list, which is small by construction.
      await expiries.createIndex({ expiresAt: 1 }, { name: EXPIRY_INDEX_NAME });
      // Every lookup is by `_id` (unique) now, and the sweeper no longer queries reservations
      // by `expiresAt`: the indexes of earlier versions only slow writes down.
      await dropIndexIfPresent(collection, 'order_unique');
      await dropIndexIfPresent(collection, EXPIRY_INDEX_NAME);
    },
    find: (orderId) => withMongoUnavailable(() => find(orderId)),
    reserve: (orderId, lines) => withMongoUnavailable(() => reserveAll(orderId, lines)),
    release: (orderId) =>
      settle(orderId, 'RELEASED', (line) =>
        stock.giveBack(line.sku, orderId, line.quantity, now()),
      ),
    commit,
    confirm: (orderId) => withMongoUnavailable(() => confirm(orderId)),
    findExpired: (limit) =>
      withMongoUnavailable(async () => {
        const due = await expiries
          .find({ expiresAt: { $lte: now().toISOString() } })
          .sort({ expiresAt: 1 })
          .limit(limit)
          .toArray();
        return due.map((entry) => ({ orderId: entry._id, expiresAt: entry.expiresAt }));
      }),
    expire: (orderId, dueAt) => withMongoUnavailable(() => expire(orderId, dueAt)),
  };
}
