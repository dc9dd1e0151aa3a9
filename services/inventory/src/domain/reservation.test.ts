import assert from 'node:assert/strict';
import {
  canTransition,
  confirmAction,
  DEFAULT_RESERVATION_TTL_MS,
  expiryAfter,
  IllegalTransitionError,
  isAbandoned,
  isExpired,
  isExpiryUnfinished,
  isVisible,
  nextExpiryCheck,
  normalizeLines,
  startReservation,
  transition,
  type ReservationStatus,
} from './reservation.js';
import { openingStock, shortSkus } from './stock.js';

describe('reservation', () => {
  const now = new Date('2026-11-27T10:00:00Z');
  const later = new Date('2026-11-27T10:00:05Z');

  it('starts RESERVING with one sorted line per sku', () => {
    const attempt = startReservation(
      'o-1',
      [
        { sku: 'MUG-2', quantity: 1 },
        { sku: 'MUG-1', quantity: 2 },
        { sku: 'MUG-2', quantity: 3 },
      ],
      now,
    );
    assert.equal(attempt.status, 'RESERVING');
    assert.deepEqual(attempt.lines, [
      { sku: 'MUG-1', quantity: 2 },
      { sku: 'MUG-2', quantity: 4 },
    ]);
    assert.equal(attempt.createdAt, '2026-11-27T10:00:00.000Z');
    assert.equal(isVisible(attempt), false);
    assert.deepEqual(normalizeLines([]), []);
  });

  it('allows RESERVING → RESERVED → RELEASED or COMMITTED', () => {
    const reserved = transition(startReservation('o-1', [], now), 'RESERVED', later);
    assert.equal(reserved.status, 'RESERVED');
    assert.equal(reserved.updatedAt, '2026-11-27T10:00:05.000Z');
    assert.equal(isVisible(reserved), true);
    assert.equal(transition(reserved, 'RELEASED', later).status, 'RELEASED');
    assert.equal(transition(reserved, 'COMMITTED', later).status, 'COMMITTED');
  });

  it('refuses every other move, final statuses included', () => {
    const legal = new Set([
      'RESERVING>RESERVED',
      'RESERVING>EXPIRED',
      'RESERVED>CONFIRMED',
      'RESERVED>RELEASED',
      'RESERVED>COMMITTED',
      'RESERVED>EXPIRED',
      'CONFIRMED>RELEASED',
      'CONFIRMED>COMMITTED',
      'EXPIRED>RELEASED',
    ]);
    const statuses: ReservationStatus[] = [
      'RESERVING',
      'RESERVED',
      'CONFIRMED',
      'RELEASED',
      'COMMITTED',
      'EXPIRED',
    ];
    for (const from of statuses) {
      for (const to of statuses) {
        assert.equal(canTransition(from, to), legal.has(`${from}>${to}`), `${from} → ${to}`);
      }
    }
    const released = { ...startReservation('o-1', [], now), status: 'RELEASED' as const };
    assert.throws(() => transition(released, 'COMMITTED', later), IllegalTransitionError);
    const reserving = startReservation('o-1', [], now);
    assert.throws(() => transition(reserving, 'RELEASED', later), /RESERVING to RELEASED/);
  });

  it('an attempt silent for the lease is abandoned; a finished one never is', () => {
    const attempt = startReservation('o-1', [], now);
    assert.equal(isAbandoned(attempt, later, 10_000), false);
    assert.equal(isAbandoned(attempt, later, 5_000), true);
    assert.equal(isAbandoned(transition(attempt, 'RESERVED', now), later, 5_000), false);
  });
});

describe('reservation expiry', () => {
  const now = new Date('2026-11-27T10:00:00Z');
  const at = (ms: number) => new Date(now.getTime() + ms);
  const LEASE = 30_000;
  const reserved = (ttlMs: number) =>
    transition(startReservation('o-1', [{ sku: 'A-1', quantity: 1 }], now, ttlMs), 'RESERVED', now);

  it('a new attempt expires after the TTL (15 minutes by default), as a sortable ISO string', () => {
    assert.equal(startReservation('o-1', [], now).expiresAt, '2026-11-27T10:15:00.000Z');
    assert.equal(DEFAULT_RESERVATION_TTL_MS, 900_000);
    assert.equal(expiryAfter(now, 1), '2026-11-27T10:00:00.001Z');
    // String order is time order, which the store's { expiresAt: { $lte } } relies on.
    assert.ok(expiryAfter(now, 999) < expiryAfter(now, 1000));
  });

  it('RESERVED expires at its expiresAt, not a millisecond before', () => {
    const held = reserved(60_000);
    assert.equal(isExpired(held, at(59_999), LEASE), false);
    assert.equal(isExpired(held, at(60_000), LEASE), true);
  });

  it('confirmed, settled and legacy (no expiresAt) reservations never expire', () => {
    const held = reserved(1);
    for (const status of ['CONFIRMED', 'RELEASED', 'COMMITTED'] as const) {
      const settled = transition(held, status, now);
      assert.equal(settled.expiresAt, undefined, status);
      assert.equal(isExpired(settled, at(3_600_000), LEASE), false, status);
    }
    const { expiresAt: _legacy, ...legacy } = held;
    assert.equal(isExpired(legacy, at(3_600_000), LEASE), false);
  });

  it('a RESERVING attempt expires only once it is past its expiry AND abandoned', () => {
    const attempt = startReservation('o-1', [], now, 1_000);
    assert.equal(isExpired(attempt, at(5_000), LEASE), false); // its process may still be taking
    assert.equal(isExpired(attempt, at(LEASE), LEASE), true);
    const young = startReservation('o-1', [], now, 60_000);
    assert.equal(isExpired(young, at(LEASE), LEASE), false);
  });

  it('tells the sweeper when to look next, and when never again', () => {
    const held = reserved(1);
    assert.equal(nextExpiryCheck(held, LEASE), held.expiresAt);
    const expired = transition(held, 'EXPIRED', at(1));
    assert.equal(nextExpiryCheck(expired, LEASE), expired.expiresAt); // units still to give back
    const { expiresAt: _done, ...finished } = expired;
    assert.equal(nextExpiryCheck(finished, LEASE), undefined);
    for (const status of ['CONFIRMED', 'RELEASED', 'COMMITTED'] as const) {
      assert.equal(nextExpiryCheck(transition(held, status, now), LEASE), undefined, status);
      // Even one that kept the field (written directly) is never due.
      assert.equal(nextExpiryCheck({ ...held, status }, LEASE), undefined, status);
    }
    // An attempt: past its expiry it still waits out its lease (it may be alive).
    const attempt = startReservation('o-1', [], now, 1_000);
    assert.equal(nextExpiryCheck(attempt, LEASE), at(LEASE).toISOString());
    const slow = startReservation('o-1', [], now, LEASE * 2);
    assert.equal(nextExpiryCheck(slow, LEASE), slow.expiresAt);
  });

  it('an EXPIRED reservation is unfinished until its expiresAt is removed (units back)', () => {
    const expired = transition(reserved(1), 'EXPIRED', at(1));
    assert.equal(isExpiryUnfinished(expired), true);
    const { expiresAt: _done, ...finished } = expired;
    assert.equal(isExpiryUnfinished(finished), false);
    assert.equal(isExpiryUnfinished(reserved(1)), false);
    assert.equal(isExpired(expired, at(3_600_000), LEASE), false); // never expired twice
  });

  it('an OrderPlaced confirms RESERVED, reinstates EXPIRED and waits for RESERVING', () => {
    const held = reserved(1);
    assert.equal(confirmAction(held), 'confirm');
    assert.equal(confirmAction(transition(held, 'CONFIRMED', now)), 'none');
    assert.equal(confirmAction(transition(held, 'COMMITTED', now)), 'none');
    assert.equal(confirmAction(transition(held, 'EXPIRED', now)), 'reinstate');
    assert.equal(confirmAction(transition(held, 'RELEASED', now)), 'unknown');
    assert.equal(confirmAction(startReservation('o-1', [], now)), 'wait');
    assert.equal(confirmAction(null), 'unknown');
  });

  it('an expiry and a confirm exclude each other', () => {
    const held = reserved(1);
    const confirmed = transition(held, 'CONFIRMED', now);
    const expired = transition(held, 'EXPIRED', now);
    assert.throws(() => transition(confirmed, 'EXPIRED', now), IllegalTransitionError);
    assert.throws(() => transition(expired, 'CONFIRMED', now), IllegalTransitionError);
  });
});

describe('stock', () => {
  it('opens a sku with its initial units and nothing held', () => {
    assert.deepEqual(openingStock('MUG-1', 100, new Date('2026-11-27T10:00:00Z')), {
      sku: 'MUG-1',
      available: 100,
      reserved: 0,
      committed: 0,
      updatedAt: '2026-11-27T10:00:00.000Z',
    });
  });

  it('names the short skus of an attempt in line order', () => {
    assert.deepEqual(
      shortSkus([
        { sku: 'A-1', result: 'short' },
        { sku: 'B-1', result: 'taken' },
        { sku: 'C-1', result: 'held' },
        { sku: 'D-1', result: 'short' },
      ]),
      ['A-1', 'D-1'],
    );
  });
});
