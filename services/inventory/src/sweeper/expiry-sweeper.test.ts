import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, startMongo, type MongoServer } from '@emporium/harness';
import { createKeyedMutex, createMetrics, type Metrics } from '@emporium/platform';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { nextExpiryCheck, startReservation, type Reservation } from '../domain/reservation.js';
import { inventoryMetrics, type InventoryMetrics } from '../inventory.metrics.js';
import {
  EXPIRY_INDEX_NAME,
  reservationsRepository,
  type ReservationsRepository,
} from '../repositories/reservations.repository.js';
import { stockRepository, type StockRepository } from '../repositories/stock.repository.js';
import { createExpirySweeper } from './expiry-sweeper.js';

const silent = pino({ level: 'silent' });
const TTL_MS = 60_000;
const LEASE_MS = 30_000;

describe('reservation expiry (real FerretDB)', () => {
  let mongo: MongoServer;
  let client: MongoClient;
  let db: Db;
  let stock: StockRepository;
  let reservations: ReservationsRepository;
  let metrics: Metrics;
  let business: InventoryMetrics;
  /** The repositories' clock; tests move it instead of waiting out the TTL. */
  let clock = new Date('2026-11-27T10:00:00Z');
  const now = () => clock;
  const advance = (ms: number) => {
    clock = new Date(clock.getTime() + ms);
  };

  before(async () => {
    mongo = await startMongo();
    client = new MongoClient(mongo.url, { maxPoolSize: 20 });
    db = client.db('inventory_expiry_test');
    stock = stockRepository(db);
    reservations = reservationsRepository(db, stock, {
      now,
      ttlMs: TTL_MS,
      timings: { waitMs: 300, pollMs: 10, leaseMs: LEASE_MS },
    });
    await stock.ensureIndexes();
    await reservations.ensureIndexes();
  });

  beforeEach(async () => {
    // Each test starts with nothing expired, and counters of its own.
    await reservations.collection.deleteMany({});
    await reservations.expiries.deleteMany({});
    metrics = createMetrics({ service: 'inventory', runtimeMetrics: false });
    business = inventoryMetrics(metrics, stock);
  });

  after(async () => {
    await client.close();
    await mongo.stop();
  });

  const sku = () => `EXP-${randomUUID().slice(0, 8).toUpperCase()}`;
  const orderId = () => `o-${randomUUID()}`;
  const level = async (name: string) => {
    const found = await stock.find(name);
    return found && { available: found.available, reserved: found.reserved };
  };
  const statusOf = async (id: string) => (await reservations.find(id))?.status;
  const reserve = async (id: string, name: string, quantity: number) => {
    const outcome = await reservations.reserve(id, [{ sku: name, quantity }]);
    assert.equal(outcome.kind, 'created', `reserve ${id}`);
  };
  const expiredCount = async () => {
    const text = await metrics.text('inventory_reservations_expired_total');
    return Number(/inventory_reservations_expired_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? '0');
  };
  /** Stores a reservation as the repository does: `_id` = order id. */
  const store = (reservation: Reservation) =>
    reservations.collection.insertOne({ _id: reservation.orderId, ...reservation });
  const entries = async () =>
    (await reservations.expiries.find().sort({ _id: 1 }).toArray()).map((entry) => entry._id);
  /**
   * The work list's invariant: every reservation that may still expire has an entry due no later
   * than the sweeper would have to act on it.
   */
  const assertWorkListCovers = async () => {
    for (const stored of await reservations.collection.find().toArray()) {
      const next = nextExpiryCheck(stored, LEASE_MS);
      if (next === undefined) continue;
      const entry = await reservations.expiries.findOne({ _id: stored._id });
      assert.ok(entry, `no work-list entry for ${stored._id} (${stored.status})`);
      assert.ok(entry.expiresAt <= next, `${stored._id}: entry ${entry.expiresAt} after ${next}`);
    }
  };
  const sweeper = (repository = reservations) =>
    createExpirySweeper({
      reservations: repository,
      intervalMs: 50,
      batchSize: 5,
      metrics: business,
      logger: silent,
    });

  it("keeps an index on the work list's expiresAt for the sweep query", async () => {
    const indexes = await reservations.expiries.indexes();
    assert.ok(indexes.some((index) => index.name === EXPIRY_INDEX_NAME));
  });

  it('releases an expired reservation once; its stock returns exactly', async () => {
    const name = sku();
    await stock.setAvailable(name, 10, clock);
    const early = orderId();
    const late = orderId();
    await reserve(early, name, 3);
    advance(TTL_MS / 2);
    await reserve(late, name, 2);
    assert.deepEqual(await level(name), { available: 5, reserved: 5 });
    assert.equal((await reservations.find(early))?.expiresAt, '2026-11-27T10:01:00.000Z');

    advance(TTL_MS / 2); // `early` is due, `late` is not
    assert.deepEqual(await sweeper().sweep(), { expired: 1, finished: 0, skipped: 0 });
    assert.equal(await statusOf(early), 'EXPIRED');
    assert.equal((await reservations.find(early))?.expiresAt, undefined);
    assert.equal(await statusOf(late), 'RESERVED');
    assert.deepEqual(await level(name), { available: 8, reserved: 2 });

    // Again, and again later: nothing moves twice.
    assert.deepEqual(await sweeper().sweep(), { expired: 0, finished: 0, skipped: 0 });
    assert.equal(await reservations.expire(early), 'skipped');
    assert.deepEqual(await level(name), { available: 8, reserved: 2 });
    advance(TTL_MS);
    assert.deepEqual(await sweeper().sweep(), { expired: 1, finished: 0, skipped: 0 });
    assert.deepEqual(await level(name), { available: 10, reserved: 0 });
    assert.equal(await expiredCount(), 2);
  });

  it('never releases a confirmed reservation', async () => {
    const name = sku();
    await stock.setAvailable(name, 4, clock);
    const id = orderId();
    await reserve(id, name, 3);
    assert.equal(await reservations.confirm(id), 'confirmed');
    assert.equal(await reservations.confirm(id), 'already'); // a redelivered OrderPlaced
    assert.equal((await reservations.find(id))?.expiresAt, undefined);
    advance(24 * 3_600_000);
    assert.deepEqual(await reservations.findExpired(10), []);
    assert.deepEqual(await sweeper().sweep(), { expired: 0, finished: 0, skipped: 0 });
    assert.equal(await reservations.expire(id), 'skipped');
    assert.equal(await statusOf(id), 'CONFIRMED');
    assert.deepEqual(await level(name), { available: 1, reserved: 3 });
    // A confirmed order still ships or cancels as before.
    assert.equal(await reservations.commit(id), 'settled');
    assert.deepEqual(await level(name), { available: 1, reserved: 0 });
  });

  it('a confirm racing an expiry: one wins, and the units are held exactly once', async () => {
    const name = sku();
    const orders = Array.from({ length: 12 }, orderId);
    await stock.setAvailable(name, orders.length, clock);
    for (const id of orders) await reserve(id, name, 1);
    advance(TTL_MS); // all due, none swept yet
    const results = await Promise.all(
      orders.map(async (id, i) => {
        // Alternate which call starts first.
        const [confirm, expire] =
          i % 2 === 0
            ? await Promise.all([reservations.confirm(id), reservations.expire(id)])
            : await Promise.all([reservations.expire(id), reservations.confirm(id)]).then(
                ([e, c]) => [c, e] as const,
              );
        return { confirm, expire };
      }),
    );
    for (const { confirm, expire } of results) {
      // Either the confirm won (the expiry skipped), or the expiry won and the late confirm
      // held the units again: never both a confirmation and an expiry of the same hold.
      assert.ok(
        (confirm === 'confirmed' && expire === 'skipped') ||
          (confirm === 'reinstated' && expire === 'expired'),
        JSON.stringify({ confirm, expire }),
      );
    }
    for (const id of orders) assert.equal(await statusOf(id), 'CONFIRMED');
    assert.deepEqual(await entries(), []); // confirmed: nothing left for the sweeper
    assert.deepEqual(await level(name), { available: 0, reserved: orders.length });
  });

  it('two sweepers running at once release each reservation once', async () => {
    const name = sku();
    const orders = Array.from({ length: 30 }, orderId);
    await stock.setAvailable(name, 100, clock);
    for (const id of orders) await reserve(id, name, 2);
    assert.deepEqual(await level(name), { available: 40, reserved: 60 });
    advance(TTL_MS);
    // Two sweepers over their own repositories, sharing the process's per-aggregate mutex
    // (FerretDB needs it within a process; MongoDB's atomic updates need nothing more).
    const mutex = createKeyedMutex();
    const own = () =>
      reservationsRepository(db, stock, {
        now,
        ttlMs: TTL_MS,
        mutex,
        timings: { leaseMs: LEASE_MS },
      });
    const [a, b] = await Promise.all([sweeper(own()).sweep(), sweeper(own()).sweep()]);
    assert.equal(a.expired + b.expired, orders.length, JSON.stringify({ a, b }));
    assert.deepEqual(await level(name), { available: 100, reserved: 0 });
    assert.equal(await expiredCount(), orders.length);
    for (const id of orders) assert.equal(await statusOf(id), 'EXPIRED');
    assert.deepEqual(await entries(), []);
  });

  it('a sweep that stopped between the status and the units is finished by the next', async () => {
    const name = sku();
    await stock.setAvailable(name, 5, clock);
    const id = orderId();
    await reserve(id, name, 4);
    advance(TTL_MS);
    // As if the sweeper died right after its status write.
    await reservations.collection.updateOne({ _id: id }, { $set: { status: 'EXPIRED' } });
    await assertWorkListCovers();
    assert.deepEqual(await level(name), { available: 1, reserved: 4 });
    assert.deepEqual(await sweeper().sweep(), { expired: 0, finished: 1, skipped: 0 });
    assert.deepEqual(await level(name), { available: 5, reserved: 0 });
    assert.equal(await expiredCount(), 0); // counted by the sweep that moved it
    assert.deepEqual(await reservations.findExpired(10), []);
    assert.deepEqual(await entries(), []);
  });

  it('expires an abandoned RESERVING attempt and gives back what it took', async () => {
    const name = sku();
    const other = sku();
    await stock.setAvailable(name, 5, clock);
    await stock.setAvailable(other, 5, clock);
    const id = orderId();
    // A process took the first line and died before the second.
    const attempt = startReservation(
      id,
      [
        { sku: name, quantity: 2 },
        { sku: other, quantity: 1 },
      ],
      clock,
      TTL_MS,
    );
    await store(attempt);
    // Its work-list entry was written before its first take, as the repository does.
    await reservations.expiries.insertOne({ _id: id, expiresAt: attempt.expiresAt ?? '' });
    assert.equal(await stock.take(name, id, 2, clock), 'taken');
    await assertWorkListCovers();
    advance(TTL_MS);
    assert.deepEqual(await sweeper().sweep(), { expired: 1, finished: 0, skipped: 0 });
    assert.deepEqual(await level(name), { available: 5, reserved: 0 });
    assert.deepEqual(await level(other), { available: 5, reserved: 0 });
  });

  it('an OrderPlaced after the expiry holds the units again, or reports them lost', async () => {
    const name = sku();
    await stock.setAvailable(name, 3, clock);
    const late = orderId();
    await reserve(late, name, 3);
    advance(TTL_MS);
    await sweeper().sweep();
    assert.equal(await reservations.confirm(late), 'reinstated');
    assert.equal(await statusOf(late), 'CONFIRMED');
    assert.deepEqual(await level(name), { available: 0, reserved: 3 });

    const lost = orderId();
    await stock.setAvailable(name, 2, clock);
    await reserve(lost, name, 2);
    advance(TTL_MS);
    await sweeper().sweep();
    await reserve(orderId(), name, 2); // another order takes the freed units
    assert.equal(await reservations.confirm(lost), 'lost');
    assert.deepEqual(await level(name), { available: 0, reserved: 5 });
    assert.equal(await reservations.confirm(orderId()), 'unknown');
  });

  it('a retried reservation of an expired order reserves afresh; a cancel of it moves nothing', async () => {
    const name = sku();
    await stock.setAvailable(name, 5, clock);
    const retried = orderId();
    await reserve(retried, name, 2);
    advance(TTL_MS);
    await sweeper().sweep();
    assert.deepEqual(await level(name), { available: 5, reserved: 0 });
    await reserve(retried, name, 2); // orders' place-order retried with the same order id
    assert.equal(await statusOf(retried), 'RESERVED');
    assert.deepEqual(await level(name), { available: 3, reserved: 2 });

    const cancelled = orderId();
    await reserve(cancelled, name, 1);
    advance(TTL_MS);
    await sweeper().sweep();
    assert.equal(await reservations.release(cancelled), 'already');
    assert.equal(await statusOf(cancelled), 'RELEASED', 'the cancel is recorded');
    assert.equal(await reservations.commit(cancelled), 'conflict');
    assert.deepEqual(await level(name), { available: 5, reserved: 0 });
  });

  it('a shipment of an expired order commits its units from what is free, or reports them short', async () => {
    const name = sku();
    await stock.setAvailable(name, 5, clock);
    const shipped = orderId();
    await reserve(shipped, name, 2);
    advance(TTL_MS); // inventory heard of it late (an outage): its units went back
    await sweeper().sweep();
    assert.deepEqual(await level(name), { available: 5, reserved: 0 });
    assert.equal(await reservations.commit(shipped), 'settled');
    assert.equal(await statusOf(shipped), 'COMMITTED');
    assert.equal((await stock.find(name))?.committed, 2, 'the shipped units left the books');
    assert.deepEqual(await level(name), { available: 3, reserved: 0 });
    // Redelivered, and its OrderPlaced arriving last: nothing moves again.
    assert.equal(await reservations.commit(shipped), 'already');
    assert.equal(await reservations.confirm(shipped), 'already');
    assert.deepEqual(await level(name), { available: 3, reserved: 0 });
    await assertWorkListCovers();
    assert.deepEqual(await entries(), []);

    const short = orderId();
    await reserve(short, name, 3);
    advance(TTL_MS);
    await sweeper().sweep();
    await reserve(orderId(), name, 2); // another order takes some of the freed units
    assert.equal(await reservations.commit(short), 'short');
    assert.deepEqual(await level(name), { available: 1, reserved: 2 });
  });

  it('stores reservations under their order id; the work list only holds what may expire', async () => {
    const name = sku();
    await stock.setAvailable(name, 20, clock);
    const open = orderId();
    const confirmed = orderId();
    const released = orderId();
    const committed = orderId();
    for (const id of [open, confirmed, released, committed]) await reserve(id, name, 2);
    const raw = await reservations.collection.findOne({ _id: open });
    assert.equal(raw?._id, open);
    assert.equal(raw.orderId, open);
    assert.equal((await stock.collection.findOne({ _id: name }))?.sku, name);
    assert.deepEqual(await entries(), [open, confirmed, released, committed].sort());
    await assertWorkListCovers();

    assert.equal(await reservations.confirm(confirmed), 'confirmed');
    assert.equal(await reservations.release(released), 'settled');
    assert.equal(await reservations.commit(committed), 'settled');
    const short = orderId();
    const refused = await reservations.reserve(short, [{ sku: name, quantity: 99 }]);
    assert.equal(refused.kind, 'short');
    assert.deepEqual(await entries(), [open]);

    // History does not grow the work list: many orders later, it still holds the one open order.
    for (let i = 0; i < 20; i++) {
      const id = orderId();
      await reserve(id, name, 1);
      assert.equal(await reservations.confirm(id), 'confirmed');
      assert.equal(await reservations.release(id), 'settled');
    }
    assert.equal(await reservations.collection.countDocuments(), 24);
    assert.deepEqual(await entries(), [open]);

    advance(TTL_MS);
    assert.deepEqual(
      (await reservations.findExpired(10)).map((due) => due.orderId),
      [open],
    );
    assert.deepEqual(await sweeper().sweep(), { expired: 1, finished: 0, skipped: 0 });
    assert.deepEqual(await entries(), []);
    assert.deepEqual(await level(name), { available: 16, reserved: 2 }); // `confirmed` holds 2
  });

  it('entries a crash left behind are removed without moving anything', async () => {
    const name = sku();
    await stock.setAvailable(name, 10, clock);
    // Crashed between the confirm's status write and the removal of its entry.
    const confirmed = orderId();
    await reserve(confirmed, name, 2);
    await reservations.collection.updateOne(
      { _id: confirmed },
      { $set: { status: 'CONFIRMED' }, $unset: { expiresAt: '' } },
    );
    // Crashed after an expiry gave the units back, before its entry went.
    const expired = orderId();
    await reserve(expired, name, 3);
    advance(TTL_MS);
    assert.equal(await reservations.expire(expired), 'expired'); // no dueAt: entry kept
    // An entry whose reservation is gone (e.g. a short attempt's, had it crashed in between).
    const vanished = orderId();
    await reservations.expiries.insertOne({ _id: vanished, expiresAt: clock.toISOString() });
    assert.deepEqual(await entries(), [confirmed, expired, vanished].sort());
    assert.deepEqual(await level(name), { available: 8, reserved: 2 });

    assert.deepEqual(await sweeper().sweep(), { expired: 0, finished: 0, skipped: 3 });
    assert.deepEqual(await entries(), []);
    assert.deepEqual(await level(name), { available: 8, reserved: 2 });
    assert.equal(await statusOf(confirmed), 'CONFIRMED');
    assert.equal(await expiredCount(), 0);
  });

  it('an entry due before its reservation can expire is moved to that time, not dropped', async () => {
    const name = sku();
    await stock.setAvailable(name, 10, clock);
    const id = orderId();
    await reserve(id, name, 4);
    // The entry is written at the attempt's start; the RESERVED expiry counts from the hold,
    // so it can be later (here: much later, to see the move).
    const later = new Date(clock.getTime() + 3 * TTL_MS).toISOString();
    await reservations.collection.updateOne({ _id: id }, { $set: { expiresAt: later } });
    advance(TTL_MS);
    assert.deepEqual(await sweeper().sweep(), { expired: 0, finished: 0, skipped: 1 });
    assert.deepEqual(await reservations.expiries.findOne({ _id: id }), {
      _id: id,
      expiresAt: later,
    });
    assert.deepEqual(await reservations.findExpired(10), []);

    // An attempt still reserving (not abandoned) waits for its lease, then expires.
    const busy = orderId();
    const attempt = startReservation(busy, [{ sku: name, quantity: 1 }], clock, 0);
    await store(attempt);
    await reservations.expiries.insertOne({ _id: busy, expiresAt: attempt.expiresAt ?? '' });
    assert.equal(await stock.take(name, busy, 1, clock), 'taken');
    assert.deepEqual(await sweeper().sweep(), { expired: 0, finished: 0, skipped: 1 });
    const leaseEnds = new Date(clock.getTime() + LEASE_MS).toISOString();
    assert.equal((await reservations.expiries.findOne({ _id: busy }))?.expiresAt, leaseEnds);
    await assertWorkListCovers();

    advance(2 * TTL_MS);
    assert.deepEqual(await sweeper().sweep(), { expired: 2, finished: 0, skipped: 0 });
    assert.deepEqual(await level(name), { available: 10, reserved: 0 });
    assert.deepEqual(await entries(), []);
  });

  it("never removes the entry of the order's next attempt", async () => {
    const name = sku();
    await stock.setAvailable(name, 10, clock);
    const id = orderId();
    await reserve(id, name, 2);
    advance(TTL_MS);
    const [stale] = await reservations.findExpired(10);
    assert.equal(stale?.orderId, id);
    // Another sweeper expires it; orders retries the order at once, and that attempt writes
    // its entry while this (slow) sweeper still acts on the expired reservation it read.
    assert.equal(await reservations.expire(id), 'expired');
    const nextAttempt = new Date(clock.getTime() + TTL_MS).toISOString();
    await reservations.expiries.updateOne({ _id: id }, { $set: { expiresAt: nextAttempt } });
    assert.equal(await reservations.expire(id, stale.expiresAt), 'skipped');
    assert.deepEqual(await reservations.expiries.findOne({ _id: id }), {
      _id: id,
      expiresAt: nextAttempt,
    });

    await reserve(id, name, 2); // the retry: afresh, on the work list again
    assert.equal(await statusOf(id), 'RESERVED');
    assert.deepEqual(await entries(), [id]);
    await assertWorkListCovers();
    advance(TTL_MS);
    assert.deepEqual(await sweeper().sweep(), { expired: 1, finished: 0, skipped: 0 });
    assert.deepEqual(await level(name), { available: 10, reserved: 0 });
    assert.deepEqual(await entries(), []);
  });

  it('sweeps every interval while started and only while leading; stop waits for the sweep', async () => {
    const name = sku();
    await stock.setAvailable(name, 10, clock);
    let leading = false;
    const running = createExpirySweeper({
      reservations,
      intervalMs: 50,
      metrics: business,
      logger: silent,
      isLeader: () => leading,
    });
    const first = orderId();
    await reserve(first, name, 1);
    advance(TTL_MS);
    running.start();
    running.start(); // no second loop
    await sleep(200);
    assert.equal(await statusOf(first), 'RESERVED'); // not the leader: nothing moves
    leading = true;
    await eventually('the expiry', async () =>
      (await statusOf(first)) === 'EXPIRED' ? true : undefined,
    );
    const second = orderId();
    await reserve(second, name, 1);
    advance(TTL_MS);
    await eventually('the next round', async () =>
      (await statusOf(second)) === 'EXPIRED' ? true : undefined,
    );
    await running.stop();
    await running.stop();
    const third = orderId();
    await reserve(third, name, 1);
    advance(TTL_MS);
    await sleep(200);
    assert.equal(await statusOf(third), 'RESERVED'); // stopped: nothing moves
    assert.match(
      await metrics.text('inventory_reservation_sweeps_total'),
      /outcome="ok"[^\n]* [1-9]/,
    );
  });
});
