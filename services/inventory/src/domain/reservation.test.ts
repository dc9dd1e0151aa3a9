import assert from 'node:assert/strict';
import {
  canTransition,
  IllegalTransitionError,
  isAbandoned,
  isVisible,
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
    const legal = new Set(['RESERVING>RESERVED', 'RESERVED>RELEASED', 'RESERVED>COMMITTED']);
    const statuses: ReservationStatus[] = ['RESERVING', 'RESERVED', 'RELEASED', 'COMMITTED'];
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
