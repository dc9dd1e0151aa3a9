import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  OrderCancelled,
  OrderPlaced,
  ordersTopic,
  PaymentAuthorized,
  PaymentDeclined,
  paymentsTopic,
} from '@emporium/contracts';
import {
  eventually,
  startKafka,
  startMongo,
  type KafkaServer,
  type MongoServer,
} from '@emporium/harness';
import {
  createConsumerRunner,
  createEventProducer,
  createKafka,
  createMetrics,
  createOutboxRelay,
  decodeCloudEvent,
  ensureTopics,
  outboxPublisher,
  type ConsumerRunner,
  type EventProducer,
  type OutboxRelay,
} from '@emporium/platform';
import type { Kafka } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { simulatedDecision } from '../domain/payment.js';
import { simulatedPspGateway } from '../gateways/psp.gateway.js';
import {
  paymentsRepository,
  type PaymentsRepository,
} from '../repositories/payments.repository.js';
import { ordersHandler } from './order-placed.handler.js';

const DECLINE_RATE = 0.5;

/** A fresh order id the simulated provider approves (or declines). */
function orderIdThat(approved: boolean): string {
  for (;;) {
    const id = `o-${randomUUID()}`;
    if (simulatedDecision(id, DECLINE_RATE).approved === approved) return id;
  }
}

describe('payments events', () => {
  const logger = pino({ level: 'silent' });
  const metrics = createMetrics({ service: 'payments', runtimeMetrics: false });
  let kafkaServer: KafkaServer;
  let mongo: MongoServer;
  let client: MongoClient;
  let kafka: Kafka;
  let producer: EventProducer;
  let payments: PaymentsRepository;
  let runner: ConsumerRunner;
  let relay: OutboxRelay;
  const published: { orderId: string; type: string; reason?: string }[] = [];
  const watcher = { stop: (): Promise<void> => Promise.resolve() };

  before(async () => {
    [kafkaServer, mongo] = await Promise.all([startKafka(), startMongo()]);
    client = new MongoClient(mongo.url);
    payments = paymentsRepository(client.db('payments_events_test'));
    await payments.ensureIndexes();
    kafka = createKafka({ clientId: 'payments-test', brokers: kafkaServer.brokers, logger });
    await ensureTopics(kafka, {
      topics: [ordersTopic, paymentsTopic],
      consumerGroups: ['payments'],
    });
    producer = createEventProducer({ kafka, source: '/emporium/orders', metrics, logger });
    await producer.connect();
    relay = createOutboxRelay({
      collections: payments.collection,
      publish: outboxPublisher(producer, [paymentsTopic]),
      intervalMs: 100,
      metrics,
      logger,
    });
    relay.start();
    const psp = simulatedPspGateway({ latencyMs: 5, declineRate: DECLINE_RATE });
    runner = createConsumerRunner({ kafka, groupId: 'payments', metrics, logger }).on(
      ordersTopic,
      ordersHandler(payments, psp, metrics),
    );
    await runner.start();
    // What other services see: PaymentAuthorized / PaymentDeclined on payments.v1.
    const consumer = kafka.consumer({ groupId: `watcher-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: paymentsTopic.name, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const event = decodeCloudEvent(message);
        const data = event.data as { orderId: string; reason?: string };
        published.push({ ...data, type: event.type });
        return Promise.resolve();
      },
    });
    watcher.stop = () => consumer.disconnect();
  });

  after(async () => {
    await watcher.stop();
    await runner.stop();
    await relay.stop();
    await producer.disconnect();
    await client.close();
    await Promise.all([kafkaServer.stop(), mongo.stop()]);
  });

  const placed = (orderId: string) => ({
    orderId,
    userId: 'u-1',
    lines: [{ sku: 'MUG-CER-350', name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
    totalMinor: 2500,
    currency: 'EUR',
    placedAt: new Date().toISOString(),
  });

  it('authorises a placed order once and publishes PaymentAuthorized, even when redelivered', async () => {
    const orderId = orderIdThat(true);
    const event = { id: randomUUID(), type: OrderPlaced.type, key: orderId, data: placed(orderId) };
    await producer.publish(ordersTopic, event);
    await producer.publish(ordersTopic, event); // a redelivery with the same event id
    const seen = await eventually('PaymentAuthorized', () =>
      Promise.resolve(published.find((p) => p.orderId === orderId)),
    );
    assert.equal(seen.type, PaymentAuthorized.type);
    const stored = await payments.findByOrderId(orderId);
    assert.equal(stored?.status, 'AUTHORIZED');
    assert.equal(stored.amountMinor, 2500);
    await eventually('the outbox drained', async () => {
      const doc = await payments.collection.findOne({ orderId });
      return doc?.outboxPending === 0 ? true : undefined;
    });
    assert.equal(await payments.collection.countDocuments({ orderId }), 1);
    assert.equal(published.filter((p) => p.orderId === orderId).length, 1);
    assert.match(await metrics.text('payments_total'), /payments_total\{[^}]*status="AUTHORIZED"/);
  });

  it('declines deterministically with a reason and publishes PaymentDeclined', async () => {
    const orderId = orderIdThat(false);
    const expected = simulatedDecision(orderId, DECLINE_RATE);
    assert.equal(expected.approved, false);
    await producer.publish(ordersTopic, {
      type: OrderPlaced.type,
      key: orderId,
      data: placed(orderId),
    });
    const seen = await eventually('PaymentDeclined', () =>
      Promise.resolve(published.find((p) => p.orderId === orderId)),
    );
    assert.equal(seen.type, PaymentDeclined.type);
    assert.equal(seen.reason, expected.reason);
    const stored = await payments.findByOrderId(orderId);
    assert.equal(stored?.status, 'DECLINED');
    assert.equal(stored.reason, expected.reason);
    assert.match(
      await metrics.text('payments_amount_minor_total'),
      /payments_amount_minor_total\{[^}]*currency="EUR"[^}]*status="DECLINED"[^}]*\} 2500/,
    );
  });

  it('ignores cancelled orders', async () => {
    const cancelledOrder = orderIdThat(true);
    await producer.publish(ordersTopic, {
      type: OrderCancelled.type,
      key: cancelledOrder,
      data: {
        orderId: cancelledOrder,
        userId: 'u-1',
        reason: 'payment declined',
        lines: [{ sku: 'MUG-CER-350', quantity: 1 }],
        cancelledAt: new Date().toISOString(),
      },
    });
    // A placed order published after it (same key, same partition) proves it was consumed.
    const later = orderIdThat(true);
    await producer.publish(ordersTopic, {
      type: OrderPlaced.type,
      key: cancelledOrder,
      data: placed(later),
    });
    await eventually(
      'the later payment',
      async () => (await payments.findByOrderId(later)) ?? undefined,
    );
    assert.equal(await payments.findByOrderId(cancelledOrder), null);
  });
});
