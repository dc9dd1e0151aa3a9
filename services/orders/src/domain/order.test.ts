import assert from 'node:assert/strict';
import {
  canTransition,
  checkCart,
  decide,
  IllegalTransitionError,
  newOrder,
  ORDER_STATUSES,
  price,
  transition,
  type Decision,
  type OrderEvent,
  type OrderState,
  type OrderStatus,
  type PricedProduct,
} from './order.js';

const T0 = new Date('2026-11-27T10:00:00.000Z');
const T1 = new Date('2026-11-27T10:05:00.000Z');

function pending(): OrderState {
  return newOrder(
    {
      orderId: 'o-1',
      userId: 'u-1',
      lines: [{ sku: 'MUG-1', name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
      totalMinor: 2500,
      currency: 'EUR',
    },
    T0,
  );
}

/** The order in `status`, reached through the legal path. */
function inStatus(status: OrderStatus): OrderState {
  const order = pending();
  const at = T0.toISOString();
  switch (status) {
    case 'PENDING':
      return order;
    case 'PAID':
      return { ...transition(order, 'PAID', at, T0), version: 1 };
    case 'SHIPPED':
      return {
        ...transition(transition(order, 'PAID', at, T0), 'SHIPPED', at, T0),
        trackingId: 'EMP1',
        version: 2,
      };
    case 'CANCELLED':
      return { ...transition(order, 'CANCELLED', at, T0, 'declined'), version: 1 };
  }
}

const authorized: OrderEvent = { kind: 'payment-authorized', at: '2026-11-27T10:01:00.000Z' };
const declined: OrderEvent = {
  kind: 'payment-declined',
  at: '2026-11-27T10:01:00.000Z',
  reason: 'insufficient funds',
};
const dispatched: OrderEvent = {
  kind: 'shipment-dispatched',
  shipmentId: 's-1',
  carrier: 'EMPORIUM-POST',
  trackingId: 'EMPABC',
  dispatchedAt: '2026-11-27T10:02:00.000Z',
};

function change(decision: Decision): Extract<Decision, { kind: 'change' }> {
  if (decision.kind !== 'change') assert.fail(`expected a change, got ${JSON.stringify(decision)}`);
  return decision;
}

describe('order state machine', () => {
  it('allows exactly PENDING→PAID, PENDING→CANCELLED and PAID→SHIPPED', () => {
    const legal = ORDER_STATUSES.flatMap((from) =>
      ORDER_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}→${to}`),
    );
    assert.deepEqual(legal, ['PENDING→PAID', 'PENDING→CANCELLED', 'PAID→SHIPPED']);
  });

  it('transition appends history and refuses every illegal move', () => {
    const paid = transition(pending(), 'PAID', '2026-11-27T10:01:00.000Z', T1);
    assert.equal(paid.status, 'PAID');
    assert.equal(paid.updatedAt, T1.toISOString());
    assert.deepEqual(
      paid.history.map((h) => h.status),
      ['PENDING', 'PAID'],
    );
    for (const [from, to] of [
      ['PENDING', 'SHIPPED'],
      ['PAID', 'CANCELLED'],
      ['PAID', 'PENDING'],
      ['SHIPPED', 'PAID'],
      ['CANCELLED', 'PAID'],
      ['CANCELLED', 'SHIPPED'],
      ['PENDING', 'PENDING'],
    ] as const) {
      assert.throws(
        () => transition(inStatus(from), to, T1.toISOString(), T1),
        IllegalTransitionError,
        `${from}→${to}`,
      );
    }
  });

  it('a new order is PENDING at version 0 with one history entry', () => {
    const order = pending();
    assert.equal(order.status, 'PENDING');
    assert.equal(order.version, 0);
    assert.deepEqual(order.history, [{ status: 'PENDING', at: T0.toISOString() }]);
  });

  it('PaymentAuthorized pays a PENDING order, is a no-op once paid, illegal once cancelled', () => {
    const paid = change(decide(pending(), authorized, T1));
    assert.equal(paid.next.status, 'PAID');
    assert.deepEqual(paid.transitions, [{ from: 'PENDING', to: 'PAID' }]);
    assert.deepEqual(paid.next.history.at(-1), { status: 'PAID', at: authorized.at });
    assert.equal(decide(inStatus('PAID'), authorized, T1).kind, 'noop');
    assert.equal(decide(inStatus('SHIPPED'), authorized, T1).kind, 'noop');
    assert.equal(decide(inStatus('CANCELLED'), authorized, T1).kind, 'illegal');
  });

  it('PaymentDeclined cancels a PENDING order with the reason, once', () => {
    const cancelled = change(decide(pending(), declined, T1));
    assert.equal(cancelled.next.status, 'CANCELLED');
    assert.equal(cancelled.next.cancelReason, 'insufficient funds');
    assert.deepEqual(cancelled.next.history.at(-1), {
      status: 'CANCELLED',
      at: declined.at,
      reason: 'insufficient funds',
    });
    assert.equal(decide(inStatus('CANCELLED'), declined, T1).kind, 'noop');
    assert.equal(decide(inStatus('PAID'), declined, T1).kind, 'illegal');
    assert.equal(decide(inStatus('SHIPPED'), declined, T1).kind, 'illegal');
  });

  it('ShipmentDispatched ships a PAID order with its tracking id, once', () => {
    const shipped = change(decide(inStatus('PAID'), dispatched, T1));
    assert.equal(shipped.next.status, 'SHIPPED');
    assert.equal(shipped.next.trackingId, 'EMPABC');
    assert.deepEqual(shipped.transitions, [{ from: 'PAID', to: 'SHIPPED' }]);
    assert.equal(decide(inStatus('SHIPPED'), dispatched, T1).kind, 'noop');
    assert.equal(decide(inStatus('CANCELLED'), dispatched, T1).kind, 'illegal');
  });

  it('a dispatch that overtakes its payment is parked, then applied with the payment', () => {
    const parked = change(decide(pending(), dispatched, T1));
    assert.equal(parked.next.status, 'PENDING');
    assert.deepEqual(parked.transitions, []);
    assert.equal(parked.next.parkedShipment?.trackingId, 'EMPABC');
    const order: OrderState = { ...parked.next, version: 1 };
    assert.equal(decide(order, dispatched, T1).kind, 'noop');
    const shipped = change(decide(order, authorized, T1));
    assert.equal(shipped.next.status, 'SHIPPED');
    assert.equal(shipped.next.trackingId, 'EMPABC');
    assert.equal('parkedShipment' in shipped.next, false);
    assert.deepEqual(shipped.transitions, [
      { from: 'PENDING', to: 'PAID' },
      { from: 'PAID', to: 'SHIPPED' },
    ]);
    assert.deepEqual(
      shipped.next.history.map((h) => [h.status, h.at]),
      [
        ['PENDING', T0.toISOString()],
        ['PAID', authorized.at],
        ['SHIPPED', dispatched.dispatchedAt],
      ],
    );
  });
});

describe('order pricing', () => {
  const mug: PricedProduct = { sku: 'MUG-1', name: 'Mug', priceMinor: 1250, currency: 'EUR' };
  const tee: PricedProduct = { sku: 'TEE-1', name: 'Tee', priceMinor: 1999, currency: 'EUR' };

  it("prices the cart's lines with catalog's prices and names", () => {
    const pricing = price(
      [
        { sku: 'MUG-1', quantity: 2 },
        { sku: 'TEE-1', quantity: 1 },
      ],
      [tee, mug],
    );
    assert.deepEqual(pricing, {
      ok: true,
      lines: [
        { sku: 'MUG-1', name: 'Mug', quantity: 2, unitPriceMinor: 1250 },
        { sku: 'TEE-1', name: 'Tee', quantity: 1, unitPriceMinor: 1999 },
      ],
      totalMinor: 4499,
      currency: 'EUR',
    });
  });

  it('refuses empty and oversized carts, unknown skus and mixed currencies', () => {
    assert.deepEqual(price([], [mug]), { ok: false, reason: 'CART_EMPTY' });
    const many = Array.from({ length: 101 }, (_, i) => ({ sku: `SKU-${String(i)}`, quantity: 1 }));
    assert.deepEqual(checkCart(many), { ok: false, reason: 'CART_TOO_LARGE', max: 100 });
    assert.deepEqual(
      price(
        [
          { sku: 'MUG-1', quantity: 1 },
          { sku: 'GONE-1', quantity: 1 },
        ],
        [mug],
      ),
      { ok: false, reason: 'UNKNOWN_SKU', skus: ['GONE-1'] },
    );
    assert.deepEqual(
      price(
        [
          { sku: 'MUG-1', quantity: 1 },
          { sku: 'TEE-1', quantity: 1 },
        ],
        [mug, { ...tee, currency: 'USD' }],
      ),
      { ok: false, reason: 'MIXED_CURRENCIES', currencies: ['EUR', 'USD'] },
    );
  });

  it('merges repeated skus of a cart into one line', () => {
    const checked = checkCart([
      { sku: 'MUG-1', quantity: 1 },
      { sku: 'MUG-1', quantity: 2 },
    ]);
    assert.deepEqual(checked, { ok: true, lines: [{ sku: 'MUG-1', quantity: 3 }] });
  });
});
