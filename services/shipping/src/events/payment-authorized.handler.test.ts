import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  PaymentAuthorized,
  PaymentDeclined,
  paymentsTopic,
  shipmentsTopic,
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
import {
  shipmentsRepository,
  type ShipmentsRepository,
} from '../repositories/shipments.repository.js';
import { paymentsHandler } from './payment-authorized.handler.js';

describe('shipping events', () => {
  const logger = pino({ level: 'silent' });
  const metrics = createMetrics({ service: 'shipping', runtimeMetrics: false });
  let kafkaServer: KafkaServer;
  let mongo: MongoServer;
  let client: MongoClient;
  let kafka: Kafka;
  let producer: EventProducer;
  let shipments: ShipmentsRepository;
  let runner: ConsumerRunner;
  let relay: OutboxRelay;
  const dispatched: { orderId: string; trackingId: string; id: string }[] = [];
  const watcher = { stop: (): Promise<void> => Promise.resolve() };

  before(async () => {
    [kafkaServer, mongo] = await Promise.all([startKafka(), startMongo()]);
    client = new MongoClient(mongo.url);
    shipments = shipmentsRepository(client.db('shipping_events_test'));
    await shipments.ensureIndexes();
    kafka = createKafka({ clientId: 'shipping-test', brokers: kafkaServer.brokers, logger });
    await ensureTopics(kafka, {
      topics: [paymentsTopic, shipmentsTopic],
      consumerGroups: ['shipping'],
    });
    producer = createEventProducer({ kafka, source: '/emporium/payments', metrics, logger });
    await producer.connect();
    relay = createOutboxRelay({
      collections: shipments.collection,
      publish: outboxPublisher(producer, [shipmentsTopic]),
      intervalMs: 100,
      metrics,
      logger,
    });
    relay.start();
    runner = createConsumerRunner({ kafka, groupId: 'shipping', metrics, logger }).on(
      paymentsTopic,
      paymentsHandler(shipments, 'EMPORIUM-POST'),
    );
    await runner.start();
    // What other services see: ShipmentDispatched on shipments.v1.
    const consumer = kafka.consumer({ groupId: `watcher-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: shipmentsTopic.name, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const event = decodeCloudEvent(message);
        const data = event.data as { orderId: string; trackingId: string };
        dispatched.push({ orderId: data.orderId, trackingId: data.trackingId, id: event.id });
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

  const authorized = (orderId: string) => ({
    paymentId: `p-${orderId}`,
    orderId,
    userId: 'u-1',
    amountMinor: 2500,
    currency: 'EUR',
    authorizedAt: new Date().toISOString(),
  });

  it('ships an authorised order once and publishes ShipmentDispatched, even when redelivered', async () => {
    const orderId = `o-${randomUUID()}`;
    const id = randomUUID();
    const event = { id, type: PaymentAuthorized.type, key: orderId, data: authorized(orderId) };
    await producer.publish(paymentsTopic, event);
    await producer.publish(paymentsTopic, event); // a redelivery with the same event id
    const published = await eventually('ShipmentDispatched', () =>
      Promise.resolve(dispatched.find((d) => d.orderId === orderId)),
    );
    const stored = await shipments.findByOrderId(orderId);
    assert.equal(stored?.trackingId, published.trackingId);
    await eventually('the outbox drained', async () => {
      const doc = await shipments.collection.findOne({ orderId });
      return doc?.outboxPending === 0 ? true : undefined;
    });
    assert.equal(await shipments.collection.countDocuments({ orderId }), 1);
    assert.equal(dispatched.filter((d) => d.orderId === orderId).length, 1);
  });

  it('ignores declined payments', async () => {
    const declinedOrder = `o-${randomUUID()}`;
    await producer.publish(paymentsTopic, {
      type: PaymentDeclined.type,
      key: declinedOrder,
      data: {
        ...authorized(declinedOrder),
        reason: 'insufficient funds',
        declinedAt: new Date().toISOString(),
      },
    });
    // An authorised order published after it proves the declined one was consumed first.
    const later = `o-${randomUUID()}`;
    await producer.publish(paymentsTopic, {
      type: PaymentAuthorized.type,
      key: later,
      data: authorized(later),
    });
    await eventually(
      'the later shipment',
      async () => (await shipments.findByOrderId(later)) ?? undefined,
    );
    assert.equal(await shipments.findByOrderId(declinedOrder), null);
  });
});
