import assert from 'node:assert/strict';
import { ROOT_CONTEXT, TraceFlags, createTraceState, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { startMongo, type MongoServer } from '@emporium/harness';
import type { CommandStartedEvent, MongoClient } from 'mongodb';
import { createMongoClient } from './mongo-client.js';
import {
  buildOutboxEvent,
  ensureOutboxIndexes,
  insertWithOutbox,
  OUTBOX_INDEX_NAME,
  updateWithOutbox,
  type OutboxDocument,
} from './outbox.js';

interface Order extends OutboxDocument {
  _id: string;
  status: 'PENDING' | 'PAID' | 'CANCELLED';
  version: number;
  total: number;
}

describe('outbox', () => {
  let server: MongoServer;
  let client: MongoClient;
  const commands: CommandStartedEvent[] = [];
  let seq = 0;
  const collection = () => client.db('outbox_test').collection<Order>(`orders_${String(++seq)}`);
  /** Write commands sent to a collection since the test began. */
  const writesTo = (name: string) =>
    commands.filter(
      (c) =>
        ['insert', 'update', 'findAndModify'].includes(c.commandName) &&
        c.command[c.commandName] === name,
    );

  before(async () => {
    server = await startMongo();
    client = createMongoClient({
      url: server.url,
      appName: 'outbox-test',
      serverSelectionTimeoutMs: 2_000,
      extra: { monitorCommands: true },
    });
    client.on('commandStarted', (event) => commands.push(event));
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });

  after(async () => {
    propagation.disable();
    await client.close();
    await server.stop();
  });

  it('builds an event with a UUID, an ISO time and the traceparent and tracestate of the given span', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId,
      traceFlags: TraceFlags.SAMPLED,
    });
    const event = buildOutboxEvent({
      topic: 'orders.v1',
      type: 'OrderPlaced',
      key: 'o-1',
      data: { n: 1 },
      context: ctx,
    });
    assert.match(event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Date(event.time).toISOString(), event.time);
    assert.equal(event.traceparent, `00-${traceId}-${spanId}-01`);
    assert.equal('tracestate' in event, false, 'no tracestate in the context, no tracestate key');

    const withState = buildOutboxEvent({
      topic: 'orders.v1',
      type: 'OrderPlaced',
      key: 'o-1',
      data: { n: 1 },
      context: trace.setSpanContext(ROOT_CONTEXT, {
        traceId,
        spanId,
        traceFlags: TraceFlags.SAMPLED,
        traceState: createTraceState('vendor=opaque'),
      }),
    });
    assert.equal(withState.traceparent, `00-${traceId}-${spanId}-01`);
    assert.equal(withState.tracestate, 'vendor=opaque');

    const untraced = buildOutboxEvent({
      topic: 'orders.v1',
      type: 'OrderPlaced',
      key: 'o-1',
      data: {},
    });
    assert.equal('traceparent' in untraced, false, 'no span, no traceparent key');
  });

  it('writes a new aggregate and its outbox in one insertOne', async () => {
    const orders = collection();
    const event = buildOutboxEvent({
      topic: 'orders.v1',
      type: 'OrderPlaced',
      key: 'o-1',
      data: { total: 42 },
    });
    const before = commands.length;
    await insertWithOutbox(orders, { _id: 'o-1', status: 'PENDING', version: 1, total: 42 }, [
      event,
    ]);
    assert.equal(
      writesTo(orders.collectionName).filter((c) => commands.indexOf(c) >= before).length,
      1,
    );

    const stored = await orders.findOne({ _id: 'o-1' });
    assert.ok(stored);
    assert.equal(stored.status, 'PENDING');
    assert.deepEqual(stored.outbox, [event]);
    assert.equal(stored.outboxPending, 1);
    assert.deepEqual(stored.outboxPendingSince, new Date(event.time));
  });

  it('changes state and appends events in one updateOne, with optimistic concurrency', async () => {
    const orders = collection();
    const placed = buildOutboxEvent({
      topic: 'orders.v1',
      type: 'OrderPlaced',
      key: 'o-2',
      data: {},
    });
    await insertWithOutbox(orders, { _id: 'o-2', status: 'PENDING', version: 1, total: 10 }, [
      placed,
    ]);

    const paid = buildOutboxEvent({ topic: 'orders.v1', type: 'OrderPaid', key: 'o-2', data: {} });
    const audit = buildOutboxEvent({
      topic: 'audit.v1',
      type: 'OrderAudited',
      key: 'o-2',
      data: {},
    });
    const before = commands.length;
    const result = await updateWithOutbox(
      orders,
      { _id: 'o-2' },
      { $set: { status: 'PAID' } },
      [paid, audit],
      {
        expectedVersion: 1,
      },
    );
    assert.equal(result.modifiedCount, 1);
    assert.equal(
      writesTo(orders.collectionName).filter((c) => commands.indexOf(c) >= before).length,
      1,
    );

    const stored = await orders.findOne({ _id: 'o-2' });
    assert.ok(stored);
    assert.equal(stored.status, 'PAID');
    assert.equal(stored.version, 2);
    assert.deepEqual(
      stored.outbox?.map((e) => e.type),
      ['OrderPlaced', 'OrderPaid', 'OrderAudited'],
    );
    assert.equal(stored.outboxPending, 3);
    // $min keeps the oldest pending time.
    assert.deepEqual(stored.outboxPendingSince, new Date(placed.time));

    // A writer still holding version 1 loses: nothing changes, no event is appended.
    const cancelled = buildOutboxEvent({
      topic: 'orders.v1',
      type: 'OrderCancelled',
      key: 'o-2',
      data: {},
    });
    const stale = await updateWithOutbox(
      orders,
      { _id: 'o-2' },
      { $set: { status: 'CANCELLED' } },
      [cancelled],
      {
        expectedVersion: 1,
      },
    );
    assert.equal(stale.matchedCount, 0);
    const after = await orders.findOne({ _id: 'o-2' });
    assert.ok(after);
    assert.equal(after.status, 'PAID');
    assert.equal(after.outbox?.length, 3);
  });

  it('sets the pending time again when events are appended to a drained outbox', async () => {
    const orders = collection();
    await orders.insertOne({
      _id: 'o-3',
      status: 'PAID',
      version: 5,
      total: 1,
      outbox: [],
      outboxPending: 0,
    });
    const shipped = buildOutboxEvent({
      topic: 'orders.v1',
      type: 'OrderShipped',
      key: 'o-3',
      data: {},
    });
    await updateWithOutbox(orders, { _id: 'o-3' }, { $inc: { total: 1 } }, [shipped]);
    const stored = await orders.findOne({ _id: 'o-3' });
    assert.ok(stored);
    assert.equal(stored.total, 2);
    assert.equal(stored.version, 5, 'no expectedVersion, no version bump');
    assert.equal(stored.outboxPending, 1);
    assert.deepEqual(stored.outboxPendingSince, new Date(shipped.time));
  });

  it('creates the relay index idempotently', async () => {
    const orders = collection();
    await ensureOutboxIndexes(orders);
    await ensureOutboxIndexes(orders);
    const names = (await orders.listIndexes().toArray()).map((index: { name?: unknown }) =>
      String(index.name),
    );
    assert.ok(names.includes(OUTBOX_INDEX_NAME), names.join(','));
  });
});
