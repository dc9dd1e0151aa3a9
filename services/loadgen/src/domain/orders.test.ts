import assert from 'node:assert/strict';
import {
  acceptedOrderId,
  createOrderTracker,
  FINALITY_GOAL_MS,
  NOT_FOUND,
  timeToFinalMs,
  UNSEEN,
  type SettleSummary,
} from './orders.js';
import { seededRandom } from './random.js';

const settle: SettleSummary = {
  state: 'done',
  limitMs: 60_000,
  elapsedSeconds: 3,
  rounds: 2,
  reads: 7,
  failedReads: 1,
};

const CREATED = Date.parse('2026-11-30T12:00:00.000Z');
const iso = (offsetMs: number): string => new Date(CREATED + offsetMs).toISOString();

/** An order as `GET /api/orders/:id` answers it, its steps `[status, ms after creation]`. */
function order(orderId: string, steps: [string, number][]): unknown {
  const history = steps.map(([status, ms]) => ({ status, at: iso(ms) }));
  return {
    orderId,
    userId: 'alice',
    status: steps.at(-1)?.[0],
    lines: [],
    createdAt: iso(0),
    updatedAt: history.at(-1)?.at,
    history,
  };
}

describe('order tracker', () => {
  it('times each order from creation to its final status by its own history', () => {
    const tracker = createOrderTracker({ random: seededRandom(1) });
    tracker.placed('o-1', 'alice', 1000);
    tracker.placed('o-2', 'bob', 2000);
    tracker.placed('o-3', 'alice', 3000);
    tracker.placed('o-4', 'carol', 4000);
    assert.equal(tracker.lastPlacedAtMs(), 4000);

    // o-1 is read while PAID, then SHIPPED; the earlier read does not move its time.
    assert.equal(
      tracker.observe(
        order('o-1', [
          ['PENDING', 0],
          ['PAID', 300],
        ]),
      ),
      false,
    );
    assert.equal(
      tracker.observe(
        order('o-1', [
          ['PENDING', 0],
          ['PAID', 300],
          ['SHIPPED', 1200],
        ]),
      ),
      true,
    );
    assert.equal(
      tracker.observe(
        order('o-2', [
          ['PENDING', 0],
          ['CANCELLED', 61_000],
        ]),
      ),
      true,
    );
    // A second sighting of a final order, and an order this run never placed, change nothing.
    assert.equal(tracker.observe(order('o-2', [['CANCELLED', 5]])), false);
    assert.equal(tracker.observe(order('o-9', [['SHIPPED', 5]])), false);
    tracker.missing('o-4');

    const summary = tracker.summary(settle);
    assert.deepEqual(summary, {
      placed: 4,
      final: 2,
      shipped: 1,
      cancelled: 1,
      notFinal: 2,
      notFinalByStatus: { [UNSEEN]: 1, [NOT_FOUND]: 1 },
      untracked: 0,
      timeToFinal: { p50Ms: 1200, p95Ms: 61_000, p99Ms: 61_000, maxMs: 61_000 },
      lateAfterMs: FINALITY_GOAL_MS,
      late: 1,
      settle,
    });
    assert.deepEqual(
      tracker.pending().map((o) => [o.orderId, o.user, o.placedAtMs, o.status]),
      [
        ['o-3', 'alice', 3000, UNSEEN],
        ['o-4', 'carol', 4000, NOT_FOUND],
      ],
      'the orders not final, oldest first, with the shopper whose token reads them',
    );
  });

  it('reports the last status seen of each order not final', () => {
    const tracker = createOrderTracker({ random: seededRandom(1) });
    for (const id of ['a', 'b', 'c']) tracker.placed(id, 'alice', 0);
    tracker.observe(order('a', [['PENDING', 0]]));
    tracker.observe(
      order('b', [
        ['PENDING', 0],
        ['PAID', 10],
      ]),
    );
    tracker.observe(
      order('c', [
        ['PENDING', 0],
        ['PAID', 10],
      ]),
    );
    const summary = tracker.summary(settle);
    assert.deepEqual(summary.notFinalByStatus, { PENDING: 1, PAID: 2 });
    assert.equal(summary.final, 0);
    assert.deepEqual(summary.timeToFinal, { p50Ms: null, p95Ms: null, p99Ms: null, maxMs: null });
  });

  it('forgets the oldest orders beyond its bound, and keeps a fair sample of times', () => {
    const tracker = createOrderTracker({ random: seededRandom(2), maxPending: 3, maxSamples: 100 });
    for (let i = 0; i < 5; i++) tracker.placed(`o-${String(i)}`, 'alice', i);
    assert.deepEqual(
      tracker.pending().map((o) => o.orderId),
      ['o-2', 'o-3', 'o-4'],
    );
    assert.equal(tracker.summary(settle).untracked, 2);

    // 10 000 orders final after 0…999 ms: the sampled median stays near 500, the max is exact.
    const many = createOrderTracker({ random: seededRandom(3), maxSamples: 100 });
    for (let i = 0; i < 10_000; i++) {
      const id = `m-${String(i)}`;
      many.placed(id, 'bob', i);
      many.observe(order(id, [['SHIPPED', (i * 7919) % 1000]]));
    }
    const summary = many.summary(settle);
    assert.equal(summary.shipped, 10_000);
    assert.equal(summary.timeToFinal.maxMs, 999);
    assert.ok(
      Math.abs((summary.timeToFinal.p50Ms ?? 0) - 500) < 150,
      String(summary.timeToFinal.p50Ms),
    );
    assert.equal(many.pending().length, 0, 'final orders are not kept');
  });

  it('reads times and ids defensively', () => {
    const final = {
      orderId: 'x',
      status: 'SHIPPED',
      createdAt: iso(0),
      updatedAt: iso(900),
    };
    // Without a history (another store version), the last update is the final one.
    assert.equal(timeToFinalMs(final), 900);
    assert.equal(timeToFinalMs({ ...final, createdAt: 'yesterday' }), undefined);
    assert.equal(
      timeToFinalMs({ ...final, history: [{ status: 'SHIPPED', at: iso(-50) }] }),
      0,
      'never negative',
    );
    const tracker = createOrderTracker({ random: seededRandom(1) });
    tracker.placed('x', 'alice', 0);
    assert.equal(tracker.observe({ status: 'SHIPPED' }), false, 'no id, no match');
    assert.equal(tracker.observe('<html>'), false);
    assert.equal(acceptedOrderId({ orderId: 'o-7', status: 'PENDING' }), 'o-7');
    assert.equal(acceptedOrderId({ orderId: '' }), undefined);
    assert.equal(acceptedOrderId(undefined), undefined);
  });
});
