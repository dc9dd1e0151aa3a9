import assert from 'node:assert/strict';
import { context, createTraceState, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  eventually,
  freePort,
  startKafka,
  startMongo,
  tempDir,
  type KafkaServer,
  type MongoServer,
} from '@emporium/harness';
import { Kafka, logLevel, type Producer, type ProducerRecord, type RecordMetadata } from 'kafkajs';
import type { Collection, MongoClient } from 'mongodb';
import { pino } from 'pino';
import { z } from 'zod';
import { createEventProducer } from '../kafka/event-producer.js';
import { defineTopic } from '../kafka/topics.js';
import { outboxPublisher } from '../service/outbox-publisher.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { createMongoClient } from './mongo-client.js';
import {
  buildOutboxEvent,
  insertWithOutbox,
  updateWithOutbox,
  type OutboxDocument,
  type OutboxEvent,
} from './outbox.js';
import { createOutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';

interface Order extends OutboxDocument {
  _id: string;
  status: string;
}

const logger = pino({ level: 'silent' });

/** The value of a metric with these labels, 0 when never set. */
async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>) {
  // In OpenMetrics mode prom-client keeps a counter under its name without `_total`.
  const metric =
    metrics.registry.getSingleMetric(name) ??
    metrics.registry.getSingleMetric(name.replace(/_total$/, ''));
  assert.ok(metric, `metric ${name} exists`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

describe('outbox relay', function () {
  let mongo: MongoServer;
  let client: MongoClient;
  let seq = 0;
  const collection = () => client.db('relay_test').collection<Order>(`orders_${String(++seq)}`);
  const event = (key: string, type: string, time: string, topic = 'orders.v1') =>
    buildOutboxEvent({ topic, type, key, data: { key, type }, time: new Date(time) });
  const relayOptions = (
    orders: Collection<Order>,
    publish: (event: OutboxEvent) => Promise<void>,
    metrics = createMetrics({ service: 'test', runtimeMetrics: false }),
  ): OutboxRelayOptions<Order> => ({
    collections: orders,
    publish,
    metrics,
    logger,
    intervalMs: 100,
  });

  before(async () => {
    mongo = await startMongo();
    client = createMongoClient({
      url: mongo.url,
      appName: 'relay-test',
      serverSelectionTimeoutMs: 2_000,
    });
  });

  after(async () => {
    await client.close();
    await mongo.stop();
  });

  it('publishes each aggregate’s events in order, oldest aggregate first, and removes them once sent', async () => {
    const orders = collection();
    const metrics = createMetrics({ service: 'test', runtimeMetrics: false });
    // B is written first but its event is younger than A's: A goes first.
    await insertWithOutbox(orders, { _id: 'B', status: 'PENDING' }, [
      event('B', 'b1', '2030-01-01T00:00:02Z'),
    ]);
    await insertWithOutbox(orders, { _id: 'A', status: 'PENDING' }, [
      event('A', 'a1', '2030-01-01T00:00:00Z'),
      event('A', 'a2', '2030-01-01T00:00:01Z'),
    ]);
    await updateWithOutbox(orders, { _id: 'A' }, { $set: { status: 'PAID' } }, [
      event('A', 'a3', '2030-01-01T00:00:03Z'),
    ]);

    const published: string[] = [];
    const relay = createOutboxRelay(
      relayOptions(
        orders,
        (e) => {
          published.push(e.type);
          return Promise.resolve();
        },
        metrics,
      ),
    );
    const result = await relay.runOnce();
    assert.deepEqual(published, ['a1', 'a2', 'a3', 'b1']);
    assert.deepEqual(result, {
      leader: true,
      published: 4,
      failed: 0,
      dead: 0,
      pending: 0,
      more: false,
    });

    for (const doc of await orders.find().toArray()) {
      // Pruned: a document does not grow by one event per update.
      assert.deepEqual(doc.outbox, [], `${doc._id} holds nothing sent`);
      assert.equal(doc.outboxPending, 0);
      assert.equal(doc.outboxPendingSince, undefined);
    }
    assert.equal(
      await metricValue(metrics, 'outbox_published_events_total', {
        messaging_destination_name: 'orders.v1',
      }),
      4,
    );
    assert.equal(
      await metricValue(metrics, 'outbox_pending_events', { collection: orders.collectionName }),
      0,
    );

    // Sent stays sent: another round publishes nothing.
    assert.equal((await relay.runOnce()).published, 0);
    assert.equal(published.length, 4);
  });

  it('keeps a failed event and its aggregate’s later events pending, other aggregates go on', async () => {
    const orders = collection();
    const metrics = createMetrics({ service: 'test', runtimeMetrics: false });
    await insertWithOutbox(orders, { _id: 'A', status: 'PENDING' }, [
      event('A', 'a1', '2030-01-01T00:00:00Z'),
      event('A', 'poison', '2030-01-01T00:00:01Z'),
      event('A', 'a3', '2030-01-01T00:00:02Z'),
    ]);
    await insertWithOutbox(orders, { _id: 'B', status: 'PENDING' }, [
      event('B', 'b1', '2030-01-01T00:00:05Z'),
    ]);
    const published: string[] = [];
    let failNext = true;
    const relay = createOutboxRelay(
      relayOptions(
        orders,
        (e) => {
          if (e.type === 'poison' && failNext) {
            failNext = false;
            return Promise.reject(new Error('broker said no'));
          }
          published.push(e.type);
          return Promise.resolve();
        },
        metrics,
      ),
    );

    const first = await relay.runOnce();
    assert.deepEqual(published, ['a1', 'b1']);
    assert.equal(first.failed, 1);
    assert.equal(first.pending, 2);
    assert.equal(
      await metricValue(metrics, 'outbox_pending_events', { collection: orders.collectionName }),
      2,
    );
    assert.equal(
      await metricValue(metrics, 'outbox_publish_failures_total', {
        messaging_destination_name: 'orders.v1',
      }),
      1,
    );
    const a = await orders.findOne({ _id: 'A' });
    assert.ok(a);
    assert.deepEqual(
      a.outbox?.map((e) => e.type),
      ['poison', 'a3'],
    );
    // The pending time moved on to the oldest unsent event.
    assert.deepEqual(a.outboxPendingSince, new Date('2030-01-01T00:00:01Z'));

    await relay.runOnce();
    assert.deepEqual(published, ['a1', 'b1', 'poison', 'a3']);
    assert.equal((await orders.findOne({ _id: 'A' }))?.outboxPending, 0);
  });

  it('reports the age of the oldest unpublished event, and 0 once it is published', async () => {
    const orders = collection();
    const metrics = createMetrics({ service: 'test', runtimeMetrics: false });
    const tenMinutesAgo = new Date(Date.now() - 600_000).toISOString();
    const aMinuteAgo = new Date(Date.now() - 60_000).toISOString();
    await insertWithOutbox(orders, { _id: 'A', status: 'PENDING' }, [
      event('A', 'a1', tenMinutesAgo),
    ]);
    await insertWithOutbox(orders, { _id: 'B', status: 'PENDING' }, [event('B', 'b1', aMinuteAgo)]);
    let kafkaUp = false;
    const relay = createOutboxRelay(
      relayOptions(
        orders,
        () => (kafkaUp ? Promise.resolve() : Promise.reject(new Error('broker away'))),
        metrics,
      ),
    );
    const age = () =>
      metricValue(metrics, 'outbox_oldest_pending_age_seconds', {
        collection: orders.collectionName,
      });
    await relay.runOnce();
    const stuck = await age();
    assert.ok(stuck >= 599 && stuck < 700, `oldest pending age ${String(stuck)} s`);
    kafkaUp = true;
    await relay.runOnce();
    assert.equal(await age(), 0);
  });

  it('moves events that can never be published to outboxDead, and the rest go on', async () => {
    const orders = collection();
    const metrics = createMetrics({ service: 'test', runtimeMetrics: false });
    // Three poison events first: before, three failures in a row ended every round.
    for (const id of ['P1', 'P2', 'P3']) {
      await insertWithOutbox(orders, { _id: id, status: 'PENDING' }, [
        event(id, 'poison', '2030-01-01T00:00:00Z'),
        event(id, `${id}-after`, '2030-01-01T00:00:01Z'),
      ]);
    }
    await insertWithOutbox(orders, { _id: 'OK', status: 'PENDING' }, [
      event('OK', 'fine', '2030-01-01T00:00:05Z'),
    ]);
    class Poison extends Error {}
    const published: string[] = [];
    const relay = createOutboxRelay({
      ...relayOptions(
        orders,
        (e) => {
          if (e.type === 'poison') return Promise.reject(new Poison('breaks the schema'));
          published.push(e.type);
          return Promise.resolve();
        },
        metrics,
      ),
      isPoison: (error) => error instanceof Poison,
    });
    const result = await relay.runOnce();
    assert.deepEqual(published, ['P1-after', 'P2-after', 'P3-after', 'fine']);
    assert.equal(result.dead, 3);
    assert.equal(result.failed, 0);
    assert.equal(result.pending, 0);
    const p1 = await orders.findOne({ _id: 'P1' });
    assert.ok(p1);
    assert.deepEqual(p1.outbox, []);
    assert.equal(p1.outboxPending, 0);
    assert.equal(p1.outboxPendingSince, undefined);
    const [dead] =
      (p1 as Order & { outboxDead?: { type: string; error: string }[] }).outboxDead ?? [];
    assert.equal(dead?.type, 'poison');
    assert.equal(dead.error, 'breaks the schema');
    assert.equal(
      await metricValue(metrics, 'outbox_dead_events_total', {
        messaging_destination_name: 'orders.v1',
      }),
      3,
    );
    // Nothing is retried: the next round has nothing to do.
    assert.equal((await relay.runOnce()).dead, 0);
  });

  it('keeps the pending count exact when two relays overlap (e.g. during a leader handover)', async () => {
    const orders = collection();
    for (const id of ['A', 'B', 'C']) {
      await insertWithOutbox(orders, { _id: id, status: 'PENDING' }, [
        event(id, `${id}1`, '2030-01-01T00:00:00Z'),
        event(id, `${id}2`, '2030-01-01T00:00:01Z'),
      ]);
    }
    const published: string[] = [];
    const publish = async (e: OutboxEvent) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      published.push(e.type);
    };
    const [one, two] = [
      createOutboxRelay(relayOptions(orders, publish)),
      createOutboxRelay(relayOptions(orders, publish)),
    ];
    await Promise.all([one.runOnce(), two.runOnce()]);
    // At-least-once: duplicates are allowed, losses are not, and nothing is counted twice.
    assert.deepEqual([...new Set(published)].sort(), ['A1', 'A2', 'B1', 'B2', 'C1', 'C2']);
    for (const doc of await orders.find().toArray()) {
      assert.equal(doc.outboxPending, 0, doc._id);
      assert.equal(doc.outboxPendingSince, undefined, doc._id);
    }
  });

  it('still publishes events of documents written before sent events were removed', async () => {
    const orders = collection();
    const old = event('A', 'a1', '2030-01-01T00:00:00Z');
    const fresh = event('A', 'a2', '2030-01-01T00:00:01Z');
    // As an earlier version left it: a sent event marked in place, then an unsent one.
    await orders.insertOne({
      _id: 'A',
      status: 'PAID',
      outbox: [{ ...old, sentAt: new Date('2030-01-01T00:00:00Z') }, fresh],
      outboxPending: 1,
      outboxPendingSince: new Date(fresh.time),
    });
    const published: string[] = [];
    const relay = createOutboxRelay(
      relayOptions(orders, (e) => {
        published.push(e.type);
        return Promise.resolve();
      }),
    );
    assert.equal((await relay.runOnce()).published, 1);
    assert.deepEqual(published, ['a2']);
    const a = await orders.findOne({ _id: 'A' });
    assert.ok(a);
    assert.ok(a.outbox?.every((e) => e.sentAt instanceof Date));
    assert.equal(a.outboxPending, 0);
    assert.equal(a.outboxPendingSince, undefined);
  });

  it('is woken by the writes of this process and publishes them without waiting for a scan', async () => {
    const orders = collection();
    const published: string[] = [];
    const relay = createOutboxRelay({
      ...relayOptions(orders, (e) => {
        published.push(e.type);
        return Promise.resolve();
      }),
      // Far longer than the test: only a wake-up can publish in time.
      intervalMs: 60_000,
    });
    relay.start();
    try {
      // The start-up scan finds nothing; wait until it is over.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await insertWithOutbox(orders, { _id: 'A', status: 'PENDING' }, [
        event('A', 'a1', '2030-01-01T00:00:00Z'),
      ]);
      await eventually('the insert is published', () =>
        Promise.resolve(published.length === 1 ? true : undefined),
      );
      await updateWithOutbox(orders, { _id: 'A' }, { $set: { status: 'PAID' } }, [
        event('A', 'a2', '2030-01-01T00:00:01Z'),
        event('A', 'a3', '2030-01-01T00:00:02Z'),
      ]);
      await eventually('the update is published', () =>
        Promise.resolve(published.length === 3 ? true : undefined),
      );
      assert.deepEqual(published, ['a1', 'a2', 'a3']);
      await eventually('the document is drained', async () => {
        const a = await orders.findOne({ _id: 'A' });
        return a?.outboxPending === 0 && a.outboxPendingSince === undefined ? true : undefined;
      });
      // A write to another collection of the same database does not concern this relay.
      const other = client.db('relay_test').collection<Order>(`${orders.collectionName}_other`);
      await insertWithOutbox(other, { _id: 'X', status: 'PENDING' }, [
        event('X', 'x1', '2030-01-01T00:00:00Z'),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(published, ['a1', 'a2', 'a3']);
    } finally {
      await relay.stop();
    }
  });

  it('retries a woken document whose publish failed, and keeps its events in order', async () => {
    const orders = collection();
    const published: string[] = [];
    let failures = 2;
    const relay = createOutboxRelay({
      ...relayOptions(orders, (e) => {
        if (e.type === 'a1' && failures > 0) {
          failures -= 1;
          return Promise.reject(new Error('broker said no'));
        }
        published.push(e.type);
        return Promise.resolve();
      }),
      intervalMs: 60_000,
      retryDelayMs: 100,
    });
    relay.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await insertWithOutbox(orders, { _id: 'A', status: 'PENDING' }, [
        event('A', 'a1', '2030-01-01T00:00:00Z'),
        event('A', 'a2', '2030-01-01T00:00:01Z'),
      ]);
      await eventually('both are published after the retries', () =>
        Promise.resolve(published.length === 2 ? true : undefined),
      );
      assert.deepEqual(published, ['a1', 'a2']);
      assert.equal(failures, 0);
    } finally {
      await relay.stop();
    }
  });

  it('does nothing when this replica is not the leader', async () => {
    const orders = collection();
    await insertWithOutbox(orders, { _id: 'A', status: 'PENDING' }, [
      event('A', 'a1', '2030-01-01T00:00:00Z'),
    ]);
    let leader = false;
    const published: string[] = [];
    const relay = createOutboxRelay({
      ...relayOptions(orders, (e) => {
        published.push(e.type);
        return Promise.resolve();
      }),
      isLeader: () => leader,
    });
    relay.start();
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(published, []);
    assert.equal((await orders.findOne({ _id: 'A' }))?.outboxPending, 1);

    leader = true;
    await eventually(
      'the new leader publishes',
      () => Promise.resolve(published.length === 1 ? true : undefined),
      5_000,
    );
    await relay.stop();
  });

  it('publishes inside the trace of the request that wrote the event, its tracestate kept, the send span under the relay span', async () => {
    const orders = collection();
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    // The relay's real publish path: the outbox publisher over the event producer, whose
    // Kafka acknowledges every send at once and keeps the records.
    const records: ProducerRecord[] = [];
    const kafkaProducer = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      send: (record: ProducerRecord): Promise<RecordMetadata[]> => {
        records.push(record);
        return Promise.resolve([
          { topicName: record.topic, partition: 0, errorCode: 0, baseOffset: '7' },
        ]);
      },
    };
    const producer = createEventProducer({
      kafka: { producer: () => kafkaProducer } as unknown as Kafka,
      source: '/emporium/test',
      metrics: createMetrics({ service: 'test', runtimeMetrics: false }),
      logger,
    });
    const topic = defineTopic('orders.v1', z.object({ orderId: z.string() }));
    try {
      const requestSpan = provider.getTracer('test').startSpan('POST /orders');
      const requestContext = trace.setSpan(
        context.active(),
        trace.wrapSpanContext({
          ...requestSpan.spanContext(),
          traceState: createTraceState('vendor=opaque,emporium=t1'),
        }),
      );
      const placed = buildOutboxEvent({
        topic: topic.name,
        type: 'OrderPlaced',
        key: 'A',
        data: { orderId: 'A' },
        context: requestContext,
      });
      requestSpan.end();
      await insertWithOutbox(orders, { _id: 'A', status: 'PENDING' }, [placed]);
      const stored = (await orders.findOne({ _id: 'A' }))?.outbox?.[0];
      assert.equal(stored?.traceparent, placed.traceparent);
      assert.equal(stored?.tracestate, 'vendor=opaque,emporium=t1', 'tracestate stored');

      const seen: { traceId?: string; traceState?: string }[] = [];
      const publish = outboxPublisher(producer, [topic]);
      const relay = createOutboxRelay(
        relayOptions(orders, (event) => {
          const active = trace.getActiveSpan()?.spanContext();
          seen.push({ traceId: active?.traceId, traceState: active?.traceState?.serialize() });
          return publish(event);
        }),
      );
      await relay.runOnce();
      assert.deepEqual(seen, [
        { traceId: requestSpan.spanContext().traceId, traceState: 'vendor=opaque,emporium=t1' },
      ]);

      const spans = exporter.getFinishedSpans();
      const relaySpan = spans.find((s) => s.name === 'outbox relay orders.v1');
      const sendSpan = spans.find((s) => s.name === 'send orders.v1');
      assert.ok(relaySpan && sendSpan, spans.map((s) => s.name).join(', '));
      assert.equal(relaySpan.parentSpanContext?.spanId, requestSpan.spanContext().spanId);
      assert.equal(sendSpan.spanContext().traceId, requestSpan.spanContext().traceId);
      assert.equal(
        sendSpan.parentSpanContext?.spanId,
        relaySpan.spanContext().spanId,
        'the send span is the relay span child, not its sibling',
      );
      assert.equal(sendSpan.kind, SpanKind.PRODUCER);
      assert.equal(sendSpan.attributes['messaging.system'], 'kafka');
      assert.equal(sendSpan.attributes['messaging.operation.type'], 'send');
      assert.equal(sendSpan.attributes['messaging.destination.name'], 'orders.v1');

      // The record carries the send span's context and the request's tracestate on to Kafka.
      const headers = records[0]?.messages[0]?.headers ?? {};
      const sendContext = sendSpan.spanContext();
      assert.equal(
        String(headers.traceparent),
        `00-${sendContext.traceId}-${sendContext.spanId}-01`,
      );
      assert.equal(String(headers.tracestate), 'vendor=opaque,emporium=t1');
    } finally {
      trace.disable();
      propagation.disable();
      context.disable();
    }
  });

  describe('with Kafka', function () {
    let kafka: KafkaServer;
    let dataDir: string;
    let port: number;

    before(async () => {
      dataDir = await tempDir('outbox-kafka');
      port = await freePort();
      kafka = await startKafka({ dataDir, port });
    });

    after(async () => {
      await kafka.stop();
    });

    it('publishes an event written while Kafka is down once Kafka is back', async () => {
      const topic = `outbox-relay-${String(Date.now())}`;
      const orders = collection();
      const metrics = createMetrics({ service: 'test', runtimeMetrics: false });
      const brokers = kafka.brokers;
      const kafkaClient = new Kafka({
        clientId: 'outbox-relay-test',
        brokers,
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        connectionTimeout: 1_000,
      });
      // Like a real producer wrapper: connect on demand, start afresh after a failure.
      let producer: Producer | undefined;
      const publish = async (e: OutboxEvent): Promise<void> => {
        try {
          if (!producer) {
            producer = kafkaClient.producer({ allowAutoTopicCreation: true });
            await producer.connect();
          }
          await producer.send({
            topic: e.topic,
            acks: -1,
            messages: [{ key: e.key, value: JSON.stringify(e), headers: { ce_id: e.id } }],
          });
        } catch (error) {
          const failed = producer;
          producer = undefined;
          await failed?.disconnect().catch(() => undefined);
          throw error;
        }
      };
      const relay = createOutboxRelay({
        ...relayOptions(orders, publish, metrics),
        intervalMs: 200,
      });
      relay.start();
      try {
        // Warm up: the topic exists and the relay works while Kafka is up.
        await insertWithOutbox(orders, { _id: 'warm', status: 'PENDING' }, [
          buildOutboxEvent({ topic, type: 'Warm', key: 'warm', data: {} }),
        ]);
        await eventually('the warm-up event is sent', async () =>
          (await orders.findOne({ _id: 'warm' }))?.outboxPending === 0 ? true : undefined,
        );

        await kafka.stop();
        const placed = buildOutboxEvent({
          topic,
          type: 'OrderPlaced',
          key: 'o-down',
          data: { total: 7 },
        });
        await insertWithOutbox(orders, { _id: 'o-down', status: 'PENDING' }, [placed]);
        await eventually(
          'publish failures are counted while Kafka is down',
          async () =>
            (await metricValue(metrics, 'outbox_publish_failures_total', {
              messaging_destination_name: topic,
            })) >= 2
              ? true
              : undefined,
          15_000,
        );
        const waiting = await orders.findOne({ _id: 'o-down' });
        assert.ok(waiting);
        assert.equal(waiting.outboxPending, 1, 'still pending while Kafka is down');
        assert.equal(waiting.outbox?.[0]?.sentAt, undefined);

        kafka = await startKafka({ dataDir, port });
        await eventually(
          'the relay catches up after Kafka returns',
          async () =>
            (await orders.findOne({ _id: 'o-down' }))?.outboxPending === 0 ? true : undefined,
          30_000,
        );
        const sent = await orders.findOne({ _id: 'o-down' });
        assert.deepEqual(sent?.outbox, []);
      } finally {
        await relay.stop();
        await producer?.disconnect();
      }

      // The checking consumer keeps kafkajs' default retries: right after a restart the group
      // coordinator answers "not available" for a moment, which retries: 0 would make fatal.
      const consumer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).consumer({
        groupId: `outbox-check-${String(Date.now())}`,
      });
      const received: OutboxEvent[] = [];
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: ({ message }) => {
            received.push(JSON.parse(message.value?.toString() ?? 'null') as OutboxEvent);
            return Promise.resolve();
          },
        });
        const arrived = await eventually(
          'the consumer sees the event',
          () => Promise.resolve(received.find((e) => e.type === 'OrderPlaced')),
          20_000,
        );
        assert.equal(arrived.key, 'o-down');
        assert.deepEqual(arrived.data, { total: 7 });
      } finally {
        await consumer.disconnect();
      }
    });
  });
});
