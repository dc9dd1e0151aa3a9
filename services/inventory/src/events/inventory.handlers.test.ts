import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  catalogTopic,
  OrderCancelled,
  OrderPlaced,
  ordersTopic,
  ProductUpdated,
  ShipmentDispatched,
  shipmentsTopic,
} from '@emporium/contracts';
import { eventually } from '@emporium/harness';
import { startEventsFixture, type EventsFixture } from '@emporium/platform/testing';
import { inventoryMetrics } from '../inventory.metrics.js';
import {
  reservationsRepository,
  type ReservationsRepository,
} from '../repositories/reservations.repository.js';
import { stockRepository, type StockRepository } from '../repositories/stock.repository.js';
import { ordersHandler } from './orders.handler.js';
import { catalogHandler } from './product-updated.handler.js';
import { shipmentsHandler } from './shipment-dispatched.handler.js';

describe('inventory events', () => {
  let fx: EventsFixture;
  let stock: StockRepository;
  let reservations: ReservationsRepository;

  before(async () => {
    fx = await startEventsFixture({
      service: 'inventory',
      consumes: [catalogTopic, ordersTopic, shipmentsTopic],
    });
    stock = stockRepository(fx.db);
    reservations = reservationsRepository(fx.db, stock);
    await stock.ensureIndexes();
    await reservations.ensureIndexes();
    const business = inventoryMetrics(fx.metrics, stock);
    await fx.consume((runner) =>
      runner
        .on(catalogTopic, catalogHandler(stock, 7, business))
        .on(ordersTopic, ordersHandler(reservations, business))
        .on(shipmentsTopic, shipmentsHandler(reservations, business)),
    );
  });

  after(() => fx.stop());

  const now = () => new Date().toISOString();
  const product = (sku: string) => ({
    productId: `p-${sku}`,
    sku,
    name: 'Mug',
    priceMinor: 1250,
    currency: 'EUR',
    categories: ['kitchen'],
    updatedAt: now(),
  });
  const cancelled = (orderId: string, sku: string) => ({
    orderId,
    userId: 'u-1',
    reason: 'payment declined',
    lines: [{ sku, quantity: 2 }],
    cancelledAt: now(),
  });
  const dispatched = (orderId: string) => ({
    shipmentId: `s-${orderId}`,
    orderId,
    userId: 'u-1',
    carrier: 'EMPORIUM-POST',
    trackingId: 'EMP123',
    dispatchedAt: now(),
  });
  const levelOf = async (sku: string) => {
    const level = await stock.find(sku);
    return (
      level && { available: level.available, reserved: level.reserved, committed: level.committed }
    );
  };
  const statusOf = async (orderId: string) => (await reservations.find(orderId))?.status;
  /** True while the order is on the expiry sweeper's work list. */
  const scheduled = async (orderId: string) =>
    (await reservations.expiries.findOne({ _id: orderId })) !== null;
  const confirmations = async () => {
    const text = await fx.metrics.text('inventory_reservations_confirmed_total');
    return Number(/\{outcome="confirmed"[^}]*\} (\d+)/.exec(text)?.[1] ?? '0');
  };

  it('opens stock for a new product once; a later update or redelivery never resets it', async () => {
    const sku = `MUG-${randomUUID().slice(0, 8).toUpperCase()}`;
    const event = {
      id: randomUUID(),
      type: ProductUpdated.type,
      key: `p-${sku}`,
      data: product(sku),
    };
    await fx.producer.publish(catalogTopic, event);
    await eventually('the stock record', async () => (await levelOf(sku)) ?? undefined);
    assert.deepEqual(await levelOf(sku), { available: 7, reserved: 0, committed: 0 });
    await stock.setAvailable(sku, 3, new Date());
    await fx.producer.publish(catalogTopic, event); // a redelivery
    await fx.producer.publish(catalogTopic, { ...event, id: randomUUID(), data: product(sku) });
    // A product after them on the same key proves they were consumed.
    const marker = `MUG-${randomUUID().slice(0, 8).toUpperCase()}`;
    await fx.producer.publish(catalogTopic, {
      type: ProductUpdated.type,
      key: `p-${sku}`,
      data: product(marker),
    });
    await eventually('the marker', async () => (await levelOf(marker)) ?? undefined);
    assert.deepEqual(await levelOf(sku), { available: 3, reserved: 0, committed: 0 });
  });

  it('releases a cancelled order once, even when the event is redelivered', async () => {
    const sku = 'REL-1';
    await stock.setAvailable(sku, 10, new Date());
    const orderId = `o-${randomUUID()}`;
    const other = `o-${randomUUID()}`;
    assert.equal((await reservations.reserve(orderId, [{ sku, quantity: 2 }])).kind, 'created');
    assert.equal((await reservations.reserve(other, [{ sku, quantity: 2 }])).kind, 'created');
    assert.deepEqual(await levelOf(sku), { available: 6, reserved: 4, committed: 0 });
    const event = {
      id: randomUUID(),
      type: OrderCancelled.type,
      key: orderId,
      data: cancelled(orderId, sku),
    };
    // OrderPlaced shares the topic: it confirms the reservation, which the cancel then releases.
    await fx.producer.publish(ordersTopic, {
      type: OrderPlaced.type,
      key: orderId,
      data: {
        orderId,
        userId: 'u-1',
        lines: [{ sku, name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
        totalMinor: 2500,
        currency: 'EUR',
        placedAt: now(),
      },
    });
    await fx.producer.publish(ordersTopic, event);
    await fx.producer.publish(ordersTopic, event); // a redelivery with the same event id
    // Same key, so the same partition: once `other` is released, both copies were handled.
    await fx.producer.publish(ordersTopic, {
      type: OrderCancelled.type,
      key: orderId,
      data: cancelled(other, sku),
    });
    // The status moves before the units, and the work-list entry goes after them: once it is
    // gone, the release is complete (waiting on the status alone raced the units).
    await eventually('the second release', async () =>
      (await statusOf(other)) === 'RELEASED' && !(await scheduled(other)) ? true : undefined,
    );
    assert.equal(await statusOf(orderId), 'RELEASED');
    assert.deepEqual(await levelOf(sku), { available: 10, reserved: 0, committed: 0 });
    assert.equal(await scheduled(orderId), false); // released for good: not for the sweeper
    // A released order's id stays taken: reserving it again returns the released reservation.
    const again = await reservations.reserve(orderId, [{ sku, quantity: 2 }]);
    assert.equal(again.kind, 'existing');
    assert.equal((await levelOf(sku))?.reserved, 0);
  });

  it('confirms a placed order once: its units stop expiring', async () => {
    const sku = 'PLACE-1';
    await stock.setAvailable(sku, 5, new Date());
    const orderId = `o-${randomUUID()}`;
    assert.equal((await reservations.reserve(orderId, [{ sku, quantity: 2 }])).kind, 'created');
    assert.ok((await reservations.find(orderId))?.expiresAt);
    assert.equal(await scheduled(orderId), true);
    const event = {
      id: randomUUID(),
      type: OrderPlaced.type,
      key: orderId,
      data: {
        orderId,
        userId: 'u-1',
        lines: [{ sku, name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
        totalMinor: 2500,
        currency: 'EUR',
        placedAt: now(),
      },
    };
    const confirmedBefore = await confirmations();
    await fx.producer.publish(ordersTopic, event);
    await fx.producer.publish(ordersTopic, { ...event, id: randomUUID() }); // a duplicate
    await eventually('the confirmation', async () =>
      (await statusOf(orderId)) === 'CONFIRMED' ? true : undefined,
    );
    assert.equal((await reservations.find(orderId))?.expiresAt, undefined);
    // The work-list entry goes right after the status moves (a leftover one is harmless).
    await eventually('the expiry entry removed', async () =>
      (await scheduled(orderId)) ? undefined : true,
    );
    const due = await reservations.findExpired(100);
    assert.equal(
      due.some((reservation) => reservation.orderId === orderId),
      false,
    );
    assert.deepEqual(await levelOf(sku), { available: 3, reserved: 2, committed: 0 });
    // Counted once, whatever the duplicate did (the cancel test above confirmed one too).
    await eventually('the confirmation counted', async () =>
      (await confirmations()) === confirmedBefore + 1 ? true : undefined,
    );
  });

  it('commits a shipped order once; a later cancel of it changes nothing', async () => {
    const sku = 'SHIP-1';
    await stock.setAvailable(sku, 5, new Date());
    const orderId = `o-${randomUUID()}`;
    assert.equal((await reservations.reserve(orderId, [{ sku, quantity: 2 }])).kind, 'created');
    const event = {
      id: randomUUID(),
      type: ShipmentDispatched.type,
      key: orderId,
      data: dispatched(orderId),
    };
    await fx.producer.publish(shipmentsTopic, event);
    await fx.producer.publish(shipmentsTopic, event);
    await fx.producer.publish(shipmentsTopic, { ...event, id: randomUUID() });
    await eventually('the commit', async () =>
      (await statusOf(orderId)) === 'COMMITTED' ? true : undefined,
    );
    await fx.producer.publish(ordersTopic, {
      type: OrderCancelled.type,
      key: orderId,
      data: cancelled(orderId, sku),
    });
    // Markers on the same partitions prove the duplicates and the cancel were consumed.
    const shipped = `o-${randomUUID()}`;
    const dropped = `o-${randomUUID()}`;
    assert.equal((await reservations.reserve(shipped, [{ sku, quantity: 1 }])).kind, 'created');
    assert.equal((await reservations.reserve(dropped, [{ sku, quantity: 1 }])).kind, 'created');
    await fx.producer.publish(shipmentsTopic, {
      type: ShipmentDispatched.type,
      key: orderId,
      data: dispatched(shipped),
    });
    await fx.producer.publish(ordersTopic, {
      type: OrderCancelled.type,
      key: orderId,
      data: cancelled(dropped, sku),
    });
    // Off the work list too: that comes after their units moved.
    await eventually('the markers', async () =>
      (await statusOf(shipped)) === 'COMMITTED' &&
      (await statusOf(dropped)) === 'RELEASED' &&
      !(await scheduled(shipped)) &&
      !(await scheduled(dropped))
        ? true
        : undefined,
    );
    assert.equal(await statusOf(orderId), 'COMMITTED');
    assert.deepEqual(await levelOf(sku), { available: 2, reserved: 0, committed: 3 });
    assert.equal(await scheduled(orderId), false); // committed for good: off the work list
  });

  it('a redelivered cancel finishes a release that stopped between status and units', async () => {
    const sku = 'HEAL-1';
    await stock.setAvailable(sku, 4, new Date());
    const orderId = `o-${randomUUID()}`;
    assert.equal((await reservations.reserve(orderId, [{ sku, quantity: 3 }])).kind, 'created');
    // As if the process died right after the status write of an earlier delivery.
    await reservations.collection.updateOne({ _id: orderId }, { $set: { status: 'RELEASED' } });
    assert.equal(await scheduled(orderId), true); // that delivery never got to the work list
    await fx.producer.publish(ordersTopic, {
      type: OrderCancelled.type,
      key: orderId,
      data: cancelled(orderId, sku),
    });
    await eventually('the units back', async () =>
      (await levelOf(sku))?.available === 4 ? true : undefined,
    );
    assert.deepEqual(await levelOf(sku), { available: 4, reserved: 0, committed: 0 });
    // The entry goes after the units, so it may still be there a moment longer.
    await eventually('off the work list', async () =>
      (await scheduled(orderId)) ? undefined : true,
    );
  });
});
