import assert from 'node:assert/strict';
import { dispatch, trackingId } from './shipment.js';

describe('shipment', () => {
  it('tracking ids carry the carrier prefix and 12 unambiguous characters', () => {
    const ids = new Set(Array.from({ length: 200 }, () => trackingId('Emporium-Post')));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.match(id, /^EMP[0-9A-HJKMNP-TV-Z]{12}$/);
    assert.equal(
      trackingId('x', (n) => Buffer.alloc(n, 0)),
      'XXX000000000000',
    );
  });

  it('dispatches an order now, with the carrier', () => {
    const now = new Date('2026-11-27T10:00:00Z');
    const shipment = dispatch({ orderId: 'o-1', userId: 'u-1' }, 'EMPORIUM-POST', now);
    assert.equal(shipment.orderId, 'o-1');
    assert.equal(shipment.status, 'DISPATCHED');
    assert.equal(shipment.dispatchedAt, '2026-11-27T10:00:00.000Z');
    assert.match(shipment.shipmentId, /^[0-9a-f-]{36}$/);
  });
});
