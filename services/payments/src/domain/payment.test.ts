import assert from 'node:assert/strict';
import {
  canTransition,
  DECLINE_REASONS,
  IllegalPaymentTransition,
  settle,
  simulatedDecision,
  startPayment,
  type PaymentStatus,
} from './payment.js';

describe('payment', () => {
  const now = new Date('2026-11-27T10:00:00Z');
  const request = { orderId: 'o-1', userId: 'u-1', amountMinor: 2500, currency: 'EUR' };

  it('a pending payment settles to AUTHORIZED or DECLINED', () => {
    const pending = startPayment(request, now);
    assert.equal(pending.status, 'PENDING');
    assert.match(pending.paymentId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(settle(pending, { approved: true }), {
      paymentId: pending.paymentId,
      ...request,
      status: 'AUTHORIZED',
      createdAt: '2026-11-27T10:00:00.000Z',
    });
    const declined = settle(pending, { approved: false, reason: 'card expired' });
    assert.equal(declined.status, 'DECLINED');
    assert.equal(declined.reason, 'card expired');
  });

  it('a settled payment never changes again', () => {
    const authorized = settle(startPayment(request, now), { approved: true });
    assert.throws(
      () => settle(authorized, { approved: false, reason: 'card expired' }),
      IllegalPaymentTransition,
    );
    assert.throws(() => settle(authorized, { approved: true }), /from AUTHORIZED to AUTHORIZED/);
    const declined = settle(startPayment(request, now), { approved: false, reason: 'x' });
    assert.throws(() => settle(declined, { approved: true }), /from DECLINED to AUTHORIZED/);
  });

  it('knows every legal and illegal transition', () => {
    const states: PaymentStatus[] = ['PENDING', 'AUTHORIZED', 'DECLINED'];
    const legal = states.flatMap((from) =>
      states.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    assert.deepEqual(legal, ['PENDING->AUTHORIZED', 'PENDING->DECLINED']);
  });

  it('the simulated decision is deterministic per order and follows the decline rate', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `o-${String(i)}`);
    const declined = ids.filter((id) => !simulatedDecision(id, 0.1).approved);
    // 10% of 2000 is 200; sha256 is uniform enough to land well within ±60.
    assert.ok(declined.length > 140 && declined.length < 260, String(declined.length));
    for (const id of ids.slice(0, 50)) {
      assert.deepEqual(simulatedDecision(id, 0.1), simulatedDecision(id, 0.1));
    }
    assert.ok(ids.every((id) => simulatedDecision(id, 0).approved));
    assert.ok(ids.every((id) => !simulatedDecision(id, 1).approved));
    // A higher rate only adds declines: an order declined at 10% is declined at 50%.
    assert.ok(declined.every((id) => !simulatedDecision(id, 0.5).approved));
    const reasons = new Set(
      ids.map((id) => simulatedDecision(id, 1)).map((d) => (d.approved ? '' : d.reason)),
    );
    assert.deepEqual([...reasons].sort(), [...DECLINE_REASONS].sort());
  });
});
