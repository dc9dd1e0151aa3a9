import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, startJaeger, startKafka } from '@emporium/harness';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import kafkajs, { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import { z } from 'zod';
import { AppError, errors } from '../errors.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { startTelemetry, type Telemetry } from '../telemetry/sdk.js';
import { encodeCloudEvent } from './cloudevents.js';
import {
  createConsumerRunner,
  DLQ_HEADERS,
  eventHandler,
  RetryLaterError,
  type ConsumerRunner,
  type ConsumerRunnerOptions,
  type IdempotencyStore,
} from './consumer-runner.js';
import { createEventProducer, EventSchemaError, type EventProducer } from './event-producer.js';
import { defineTopic, ensureTopics, type TopicDefinition } from './topics.js';

const orderSchema = z.object({ orderId: z.string(), total: z.number().int().nonnegative() });
type Order = z.infer<typeof orderSchema>;

const uid = (): string => randomBytes(4).toString('hex');

/** A fresh topic (one partition, the broker default) and group per test. */
function fresh(): { topic: TopicDefinition<Order>; groupId: string } {
  const id = uid();
  return { topic: defineTopic(`test-${id}.v1`, orderSchema), groupId: `group-${id}` };
}

interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}

/** A span's tags as an object (Jaeger's `span.kind` among them). */
function tagsOf(span: JaegerSpan): Record<string, unknown> {
  return Object.fromEntries(span.tags.map((tag) => [tag.key, tag.value]));
}

/** The entries of `record` under `keys` (those present). */
function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => key in record).map((key) => [key, record[key]]));
}

describe('kafka: CloudEvents producer and consumer runner (real Kafka)', function () {
  this.timeout(90_000);

  let stopKafka: (() => Promise<void>) | undefined;
  let stopJaeger: (() => Promise<void>) | undefined;
  let jaegerQuery = '';
  let telemetry: Telemetry | undefined;
  let kafka: Kafka;
  let metrics: Metrics;
  let producer: EventProducer;
  const logger = pino({ level: 'silent' });
  const runners: ConsumerRunner[] = [];
  // kafkajs 2.2.4 set negative timers on every idle request queue, which Node 24 warns about;
  // patches/kafkajs+2.2.4.patch fixes it, and this suite of real Kafka traffic proves it.
  const negativeTimers: string[] = [];
  const onWarning = (warning: Error): void => {
    if (warning.name === 'TimeoutNegativeWarning') negativeTimers.push(warning.message);
  };

  before(async () => {
    process.on('warning', onWarning);
    const [broker, jaeger] = await Promise.all([startKafka(), startJaeger()]);
    stopKafka = broker.stop;
    stopJaeger = jaeger.stop;
    jaegerQuery = jaeger.queryUrl;
    telemetry = startTelemetry({
      enabled: true,
      serviceName: 'kafka-test',
      serviceVersion: '0.0.0',
      environment: 'test',
      otlpEndpoint: jaeger.otlpHttpUrl,
      sampleRatio: 1,
      exportDelayMs: 100,
      instrumentations: [],
    });
    kafka = new Kafka({
      brokers: broker.brokers,
      clientId: 'kafka-test',
      logLevel: logLevel.NOTHING,
    });
    metrics = createMetrics({ service: 'kafka-test', runtimeMetrics: false });
    producer = createEventProducer({ kafka, source: '/emporium/test', metrics, logger });
    await producer.connect();
  });

  after(async () => {
    await Promise.allSettled(runners.map((runner) => runner.stop()));
    await producer.disconnect();
    await telemetry?.shutdown();
    // Free the OpenTelemetry globals for the next test file in this mocha process.
    trace.disable();
    propagation.disable();
    context.disable();
    await Promise.allSettled([stopJaeger?.(), stopKafka?.()]);
    process.off('warning', onWarning);
    assert.deepEqual(negativeTimers, [], 'kafkajs set a negative timer');
  });

  /** Starts a runner with test-friendly defaults; after() stops whatever a test leaves running. */
  async function startRunner(
    options: Omit<ConsumerRunnerOptions, 'kafka' | 'metrics' | 'logger'>,
  ): Promise<ConsumerRunner> {
    const runner = createConsumerRunner({
      kafka,
      metrics,
      logger,
      backoff: { initialMs: 20, maxMs: 100 },
      consumerConfig: { maxWaitTimeInMs: 200 },
      ...options,
    });
    runners.push(runner);
    await runner.start();
    return runner;
  }

  /** Reads every record of a topic from the beginning until `count` have arrived. */
  async function readTopic(topic: string, count: number): Promise<KafkaMessage[]> {
    const consumer = kafka.consumer({ groupId: `reader-${uid()}`, maxWaitTimeInMs: 200 });
    const seen: KafkaMessage[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => {
          seen.push(message);
          return Promise.resolve();
        },
      });
      return await eventually(
        `${String(count)} records on ${topic}`,
        () => Promise.resolve(seen.length >= count ? seen : undefined),
        20_000,
      );
    } finally {
      await consumer.disconnect();
    }
  }

  /** The high watermark of partition 0: how many records the topic has ever received. */
  async function recordCount(topic: string): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [partition] = await admin.fetchTopicOffsets(topic);
      return Number(partition?.high ?? -1);
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * One series of a metric by its labels (`service` aside). Counters are looked up by their
   * exposed `_total` name; `series` picks a histogram's `_count` or `_sum`.
   */
  async function sample(
    name: string,
    labels: Record<string, string>,
    series?: string,
  ): Promise<number | undefined> {
    const metric =
      metrics.registry.getSingleMetric(name) ??
      metrics.registry.getSingleMetric(name.replace(/_total$/, ''));
    if (!metric) return undefined;
    const { values } = await metric.get();
    return values.find(
      (value) =>
        (series === undefined || ('metricName' in value && value.metricName === series)) &&
        Object.entries(labels).every(([key, want]) => String(value.labels[key]) === want),
    )?.value;
  }

  const header = (message: KafkaMessage, name: string): string | undefined =>
    message.headers?.[name]?.toString();

  it('ensureTopics run by several services at once returns, in each, only once every topic has a leader', async () => {
    // Seen on a fresh cluster: the services that lost the race to create a topic went on before
    // it had a leader, and subscribing failed with UNKNOWN_TOPIC_OR_PARTITION.
    const probe = kafka.admin({ retry: { retries: 0 } });
    await probe.connect();
    try {
      for (let round = 0; round < 5; round++) {
        // Many partitions, so the winner's creation takes long enough for the losers to hear
        // TOPIC_ALREADY_EXISTS before the broker has led them.
        const topics = Array.from({ length: 8 }, () => `test-${uid()}.v1`);
        await Promise.all(
          Array.from({ length: 6 }, async () => {
            await ensureTopics(kafka, { topics, numPartitions: 16 });
            // No retries: the broker must already know every topic and name a leader.
            const { topics: found } = await probe.fetchTopicMetadata({ topics });
            assert.deepEqual(found.map((t) => t.name).sort(), [...topics].sort());
            for (const t of found) {
              assert.ok(t.partitions.length === 16 && t.partitions.every((p) => p.leader >= 0));
            }
          }),
        );
      }
    } finally {
      await probe.disconnect();
    }
  });

  it('dead-letters a poison record with its bytes and the error, then processes the next one', async () => {
    const { topic, groupId } = fresh();
    assert.deepEqual(
      (await ensureTopics(kafka, { topics: [topic], consumerGroups: [groupId] })).sort(),
      [`${groupId}.dlq`, topic.name].sort(),
    );
    assert.deepEqual(await ensureTopics(kafka, { topics: [topic], consumerGroups: [groupId] }), []);

    const raw = kafka.producer();
    await raw.connect();
    const notAnEvent = Buffer.from('definitely { not json');
    const badData = encodeCloudEvent({
      specversion: '1.0',
      id: 'bad-data-1',
      source: '/emporium/test',
      type: 'com.emporium.test.OrderPlaced',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      partitionkey: 'order-bad',
      data: { orderId: 'order-bad', total: -5 },
    });
    await raw.send({
      topic: topic.name,
      messages: [{ key: 'poison', value: notAnEvent, headers: { origin: 'elsewhere' } }, badData],
    });
    await raw.disconnect();
    await producer.publish(topic, {
      id: 'good-1',
      type: 'com.emporium.test.OrderPlaced',
      key: 'order-1',
      data: { orderId: 'order-1', total: 100 },
    });

    const handled: string[] = [];
    await startRunner({
      groupId,
      handlers: [
        eventHandler(topic, (event) => {
          handled.push(event.id);
          return Promise.resolve();
        }),
      ],
    });

    await eventually('the good event after the poison ones', () =>
      Promise.resolve(handled.includes('good-1') ? true : undefined),
    );
    assert.deepEqual(handled, ['good-1']);

    const dlq = await readTopic(`${groupId}.dlq`, 2);
    assert.equal(dlq.length, 2);
    const [first, second] = dlq;
    assert.ok(first && second);
    assert.deepEqual(first.value, notAnEvent, 'the original bytes');
    assert.equal(first.key?.toString(), 'poison');
    assert.equal(header(first, 'origin'), 'elsewhere', 'the original headers');
    assert.equal(header(first, DLQ_HEADERS.reason), 'invalid');
    assert.match(
      header(first, DLQ_HEADERS.error) ?? '',
      /Not a CloudEvent: ce_specversion is missing/,
    );
    assert.equal(header(first, DLQ_HEADERS.originalTopic), topic.name);
    assert.equal(header(first, DLQ_HEADERS.originalPartition), '0');
    assert.equal(header(first, DLQ_HEADERS.originalOffset), '0');
    assert.equal(header(first, DLQ_HEADERS.consumerGroup), groupId);
    assert.equal(header(first, DLQ_HEADERS.attempts), '0');

    assert.deepEqual(second.value, badData.value);
    assert.equal(header(second, 'ce_id'), 'bad-data-1');
    assert.equal(header(second, DLQ_HEADERS.originalOffset), '1');
    assert.match(header(second, DLQ_HEADERS.error) ?? '', /does not match the schema.*total: /);

    const labels = {
      messaging_destination_name: topic.name,
      messaging_consumer_group_name: groupId,
    };
    assert.equal(await sample('messaging_client_consumed_messages_total', labels), 3);
    assert.equal(
      await sample('messaging_dead_lettered_messages_total', { ...labels, reason: 'invalid' }),
      2,
    );
    assert.equal(
      await sample('messaging_process_failures_total', { ...labels, reason: 'invalid' }),
      2,
    );
    assert.equal(
      await sample(
        'messaging_process_duration_seconds',
        { ...labels, outcome: 'success' },
        'messaging_process_duration_seconds_count',
      ),
      1,
    );
    assert.equal(
      await sample('messaging_client_sent_messages_total', {
        messaging_destination_name: topic.name,
        outcome: 'success',
      }),
      1,
    );
    // Every record processed: nothing left behind.
    assert.equal(
      await sample('messaging_consumer_lag', {
        ...labels,
        messaging_destination_partition_id: '0',
      }),
      0,
    );
  });

  it('retries a failing handler maxAttempts times in all, then dead-letters; a flaky one succeeds once', async () => {
    const { topic, groupId } = fresh();
    await ensureTopics(kafka, { topics: [topic], consumerGroups: [groupId] });
    const attempts = new Map<string, number[]>();
    const succeeded: string[] = [];
    await startRunner({
      groupId,
      maxAttempts: 3,
      handlers: [
        eventHandler(topic, (event, ctx) => {
          attempts.set(event.id, [...(attempts.get(event.id) ?? []), ctx.attempt]);
          if (event.data.orderId === 'always-fails') throw new Error('payment gateway exploded');
          if (event.data.orderId === 'fails-once' && ctx.attempt === 1) {
            throw new Error('transient');
          }
          succeeded.push(event.id);
          return Promise.resolve();
        }),
      ],
    });
    const type = 'com.emporium.test.OrderPlaced';
    await producer.publish(topic, {
      id: 'doomed',
      type,
      key: 'a',
      data: { orderId: 'always-fails', total: 1 },
    });
    await producer.publish(topic, {
      id: 'flaky',
      type,
      key: 'b',
      data: { orderId: 'fails-once', total: 2 },
    });

    await eventually('the flaky event to succeed', () =>
      Promise.resolve(succeeded.includes('flaky') ? true : undefined),
    );
    assert.deepEqual(attempts.get('doomed'), [1, 2, 3]);
    assert.deepEqual(attempts.get('flaky'), [1, 2]);
    assert.deepEqual(succeeded, ['flaky']);

    // The partition is processed in order, so the doomed record's dead-letter send is done.
    assert.equal(await recordCount(`${groupId}.dlq`), 1);
    const [dead] = await readTopic(`${groupId}.dlq`, 1);
    assert.ok(dead);
    assert.equal(header(dead, 'ce_id'), 'doomed');
    assert.equal(dead.key?.toString(), 'a');
    assert.equal(header(dead, DLQ_HEADERS.reason), 'handler-failed');
    assert.equal(header(dead, DLQ_HEADERS.attempts), '3');
    assert.equal(header(dead, DLQ_HEADERS.error), 'Error: payment gateway exploded');
    assert.deepEqual(JSON.parse(dead.value?.toString() ?? ''), {
      orderId: 'always-fails',
      total: 1,
    });

    const labels = {
      messaging_destination_name: topic.name,
      messaging_consumer_group_name: groupId,
    };
    assert.equal(
      await sample('messaging_process_failures_total', { ...labels, reason: 'handler-error' }),
      4,
    );
    assert.equal(
      await sample('messaging_dead_lettered_messages_total', {
        ...labels,
        reason: 'handler-failed',
      }),
      1,
    );
    const count = 'messaging_process_duration_seconds_count';
    const histogram = 'messaging_process_duration_seconds';
    assert.equal(await sample(histogram, { ...labels, outcome: 'dead-lettered' }, count), 1);
    assert.equal(await sample(histogram, { ...labels, outcome: 'success' }, count), 1);
  });

  it('retries a transient failure for as long as it lasts and never dead-letters it; a poison record holds its partition for 3 quick attempts', async () => {
    const { topic, groupId } = fresh();
    await ensureTopics(kafka, { topics: [topic], consumerGroups: [groupId] });
    const attempts = new Map<string, number[]>();
    const done: string[] = [];
    await startRunner({
      groupId,
      // Short waits: what is tested is the number of attempts, not their spacing.
      backoff: { initialMs: 10, maxMs: 50 },
      handlers: [
        eventHandler(topic, (event, ctx) => {
          attempts.set(event.id, [...(attempts.get(event.id) ?? []), ctx.attempt]);
          // A database away for 6 attempts (twice maxAttempts), then back.
          if (event.data.orderId === 'db-down' && ctx.attempt <= 6) {
            throw errors.unavailable('The database is unavailable.');
          }
          if (event.data.orderId === 'race' && ctx.attempt <= 4) {
            throw new RetryLaterError('another writer is not done yet');
          }
          if (event.data.orderId === 'poison') throw new Error('cannot be handled');
          done.push(event.id);
          return Promise.resolve();
        }),
      ],
    });
    const type = 'com.emporium.test.OrderPlaced';
    // One key, one partition: each record waits for the one before it.
    for (const [id, orderId] of [
      ['e-db', 'db-down'],
      ['e-race', 'race'],
      ['e-poison', 'poison'],
      ['e-after', 'fine'],
    ] as const) {
      await producer.publish(topic, { id, type, key: 'same', data: { orderId, total: 1 } });
    }
    await eventually('the record after the poison one', () =>
      Promise.resolve(done.includes('e-after') ? true : undefined),
    );
    assert.deepEqual(done, ['e-db', 'e-race', 'e-after']);
    assert.deepEqual(attempts.get('e-db'), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(attempts.get('e-race'), [1, 2, 3, 4, 5]);
    assert.deepEqual(attempts.get('e-poison'), [1, 2, 3]);
    assert.equal(await recordCount(`${groupId}.dlq`), 1);
    const [dead] = await readTopic(`${groupId}.dlq`, 1);
    assert.equal(dead && header(dead, 'ce_id'), 'e-poison');
    const labels = {
      messaging_destination_name: topic.name,
      messaging_consumer_group_name: groupId,
    };
    assert.equal(
      await sample('messaging_process_failures_total', { ...labels, reason: 'transient' }),
      10,
    );
    assert.equal(
      await sample('messaging_process_failures_total', { ...labels, reason: 'handler-error' }),
      3,
    );
  });

  it('reports lag from the moment it joins (0 on a quiet topic) and after every record of a slow batch, with zero retry and dead-letter series', async () => {
    const quiet = fresh();
    await ensureTopics(kafka, { topics: [quiet.topic], consumerGroups: [quiet.groupId] });
    await startRunner({
      groupId: quiet.groupId,
      handlers: [eventHandler(quiet.topic, () => Promise.resolve())],
    });
    const quietLabels = {
      messaging_destination_name: quiet.topic.name,
      messaging_consumer_group_name: quiet.groupId,
    };
    // Seeded from the broker's offsets, though no batch ever arrives.
    assert.equal(
      await eventually('the quiet topic’s lag', () =>
        sample('messaging_consumer_lag', {
          ...quietLabels,
          messaging_destination_partition_id: '0',
        }),
      ),
      0,
    );
    assert.equal(
      await sample('messaging_dead_lettered_messages_total', {
        ...quietLabels,
        reason: 'handler-failed',
      }),
      0,
    );
    assert.equal(
      await sample('messaging_process_failures_total', { ...quietLabels, reason: 'handler-error' }),
      0,
    );

    const { topic, groupId } = fresh();
    await ensureTopics(kafka, { topics: [topic], consumerGroups: [groupId] });
    const type = 'com.emporium.test.OrderPlaced';
    for (let i = 0; i < 4; i += 1) {
      await producer.publish(topic, {
        id: `slow-${String(i)}`,
        type,
        key: 'same',
        data: { orderId: `o-${String(i)}`, total: 1 },
      });
    }
    // The handler waits for a release per record, so the batch of four is processed slowly.
    const started: string[] = [];
    const releases: (() => void)[] = [];
    await startRunner({
      groupId,
      handlers: [
        eventHandler(topic, (event) => {
          started.push(event.id);
          return new Promise<void>((resolve) => releases.push(resolve));
        }),
      ],
    });
    const lag = () =>
      sample('messaging_consumer_lag', {
        messaging_destination_name: topic.name,
        messaging_consumer_group_name: groupId,
        messaging_destination_partition_id: '0',
      });
    await eventually('the first record', () =>
      Promise.resolve(started.length === 1 ? true : undefined),
    );
    assert.equal(await lag(), 4, 'the whole batch is ahead while its first record is handled');
    releases.shift()?.();
    await eventually('the second record', () =>
      Promise.resolve(started.length === 2 ? true : undefined),
    );
    assert.equal(await lag(), 3, 'the lag moved inside the batch');
    for (let i = 0; i < 3; i += 1) {
      releases.shift()?.();
      await eventually(`record ${String(i + 3)}`, () =>
        Promise.resolve(started.length >= Math.min(4, i + 3) ? true : undefined),
      );
    }
    releases.shift()?.();
    assert.equal(await eventually('no lag', async () => ((await lag()) === 0 ? 0 : undefined)), 0);
  });

  it('skips an event id the idempotency store has seen, and commits past it', async () => {
    const { topic, groupId } = fresh();
    await ensureTopics(kafka, { topics: [topic], consumerGroups: [groupId] });
    const processed = new Set<string>();
    const store: IdempotencyStore = {
      isProcessed: (eventId, group) => Promise.resolve(processed.has(`${group}/${eventId}`)),
      markProcessed: (eventId, group) => {
        processed.add(`${group}/${eventId}`);
        return Promise.resolve();
      },
    };
    const calls: string[] = [];
    const runner = await startRunner({
      groupId,
      idempotency: store,
      handlers: [
        eventHandler(topic, (event) => {
          calls.push(event.id);
          return Promise.resolve();
        }),
      ],
    });
    const event = {
      type: 'com.emporium.test.OrderPlaced',
      key: 'o-9',
      data: { orderId: 'o-9', total: 9 },
    };
    await producer.publish(topic, { ...event, id: 'evt-1' });
    await producer.publish(topic, { ...event, id: 'evt-1' }); // the outbox relay published twice
    await producer.publish(topic, { ...event, id: 'evt-2' });

    await eventually('evt-2 to be handled', () =>
      Promise.resolve(calls.includes('evt-2') ? true : undefined),
    );
    assert.deepEqual(calls, ['evt-1', 'evt-2']);
    assert.equal(
      await sample('messaging_duplicate_messages_total', {
        messaging_destination_name: topic.name,
        messaging_consumer_group_name: groupId,
      }),
      1,
    );
    await runner.stop();
    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic.name] });
    await admin.disconnect();
    assert.equal(offsets?.partitions[0]?.offset, '3', 'all three records committed');
  });

  it('continues the producer trace: the process span is the send span child (Jaeger)', async () => {
    const { topic, groupId } = fresh();
    await ensureTopics(kafka, { topics: [topic], consumerGroups: [groupId] });
    const seen = new Map<string, { traceId: string; spanId: string }>();
    await startRunner({
      groupId,
      handlers: [
        eventHandler(topic, (event) => {
          const active = trace.getActiveSpan()?.spanContext();
          if (active) seen.set(event.id, { traceId: active.traceId, spanId: active.spanId });
          return Promise.resolve();
        }),
      ],
    });
    const tracer = trace.getTracer('kafka-test');
    const type = 'com.emporium.test.OrderPlaced';

    // 1. Published inside a request span: send is its child, process the send span's child.
    const requestSpan = tracer.startSpan('POST /api/orders');
    await context.with(trace.setSpan(ROOT_CONTEXT, requestSpan), () =>
      producer.publish(topic, {
        id: 'traced',
        type,
        key: 'o-1',
        data: { orderId: 'o-1', total: 1 },
      }),
    );
    requestSpan.end();

    // 2. Published later from an outbox, with the traceparent the request stored.
    const writeSpan = tracer.startSpan('outbox write');
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, writeSpan), carrier);
    writeSpan.end();
    assert.ok(carrier.traceparent);
    await context.with(ROOT_CONTEXT, () =>
      producer.publish(topic, {
        id: 'relayed',
        type,
        key: 'o-2',
        data: { orderId: 'o-2', total: 2 },
        traceparent: carrier.traceparent,
      }),
    );

    await eventually('both events handled', () =>
      Promise.resolve(seen.size === 2 ? true : undefined),
    );
    await telemetry?.flush();

    const expectations: [string, string, string][] = [
      ['traced', requestSpan.spanContext().traceId, requestSpan.spanContext().spanId],
      ['relayed', writeSpan.spanContext().traceId, writeSpan.spanContext().spanId],
    ];
    for (const [eventId, traceId, rootSpanId] of expectations) {
      const spans = await eventually(
        `the ${eventId} trace in Jaeger`,
        async () => {
          const response = await fetch(`${jaegerQuery}/api/traces/${traceId}`);
          if (!response.ok) return undefined;
          const body = (await response.json()) as { data?: { spans: JaegerSpan[] }[] };
          const found = body.data?.[0]?.spans ?? [];
          const names = found.map((span) => span.operationName);
          return names.includes(`send ${topic.name}`) && names.includes(`process ${topic.name}`)
            ? found
            : undefined;
        },
        15_000,
      );
      const publish = spans.find((span) => span.operationName === `send ${topic.name}`);
      const consume = spans.find((span) => span.operationName === `process ${topic.name}`);
      assert.ok(publish && consume);
      // Messaging semconv: `send <destination>` (PRODUCER), `process <destination>` (CONSUMER).
      assert.deepEqual(
        pick(tagsOf(publish), [
          'span.kind',
          'messaging.system',
          'messaging.operation.type',
          'messaging.destination.name',
        ]),
        {
          'span.kind': 'producer',
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic.name,
        },
      );
      assert.deepEqual(
        pick(tagsOf(consume), [
          'span.kind',
          'messaging.system',
          'messaging.operation.type',
          'messaging.destination.name',
          'messaging.consumer.group.name',
        ]),
        {
          'span.kind': 'consumer',
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.destination.name': topic.name,
          'messaging.consumer.group.name': groupId,
        },
      );
      const parentOf = (span: JaegerSpan): string | undefined =>
        span.references.find((ref) => ref.refType === 'CHILD_OF' && ref.traceID === traceId)
          ?.spanID;
      assert.equal(parentOf(publish), rootSpanId, `${eventId}: send continues its parent`);
      assert.equal(parentOf(consume), publish.spanID, `${eventId}: process is the send child`);
      assert.deepEqual(seen.get(eventId), { traceId, spanId: consume.spanID }, 'handler context');
    }

    // The process histogram carries a trace id as exemplar (one per bucket: the latest).
    const text = await metrics.text('messaging_process_duration_seconds');
    const exemplars = text
      .split('\n')
      .filter((line) => line.includes(`messaging_destination_name="${topic.name}"`))
      .flatMap((line) => /# \{[^}]*trace_id="([0-9a-f]{32})"/.exec(line)?.slice(1) ?? []);
    assert.ok(exemplars.length > 0, 'an exemplar on the process histogram');
    const traceIds = expectations.map(([, traceId]) => traceId);
    for (const traceId of exemplars) assert.ok(traceIds.includes(traceId), traceId);
  });

  it('leaves a record uncommitted while dead-lettering fails, and dead-letters it later', async () => {
    const { topic, groupId } = fresh();
    await ensureTopics(kafka, { topics: [topic] });
    // A dead-letter topic that refuses the record: it is larger than its max.message.bytes.
    await ensureTopics(kafka, {
      consumerGroups: [groupId],
      configEntries: [{ name: 'max.message.bytes', value: '64' }],
    });
    const raw = kafka.producer();
    await raw.connect();
    const poison = Buffer.from('x'.repeat(200));
    await raw.send({ topic: topic.name, messages: [{ key: 'poison', value: poison }] });
    await raw.disconnect();
    await producer.publish(topic, {
      id: 'after-poison',
      type: 'com.emporium.test.OrderPlaced',
      key: 'o-1',
      data: { orderId: 'o-1', total: 1 },
    });
    const handled: string[] = [];
    const runner = await startRunner({
      groupId,
      handlers: [
        eventHandler(topic, (event) => {
          handled.push(event.id);
          return Promise.resolve();
        }),
      ],
    });
    const labels = {
      messaging_destination_name: topic.name,
      messaging_consumer_group_name: groupId,
    };
    await eventually('a failed dead-letter send', () =>
      sample('messaging_process_failures_total', { ...labels, reason: 'dead-letter-error' }),
    );
    await sleep(300);
    assert.equal(handled.length, 0, 'the partition waits: order kept, nothing skipped');
    assert.equal(await recordCount(`${groupId}.dlq`), 0);

    const admin = kafka.admin();
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: `${groupId}.dlq`,
          configEntries: [{ name: 'max.message.bytes', value: '1048588' }],
        },
      ],
    });
    await eventually(
      'the record after the poison one',
      () => Promise.resolve(handled.includes('after-poison') ? true : undefined),
      30_000,
    );
    const [dead] = await readTopic(`${groupId}.dlq`, 1);
    assert.deepEqual(dead?.value, poison);
    await runner.stop();
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic.name] });
    await admin.disconnect();
    assert.equal(offsets?.partitions[0]?.offset, '2');
  });

  it('publish rejects data that fails the topic schema and sends nothing', async () => {
    const { topic } = fresh();
    await ensureTopics(kafka, { topics: [topic] });
    await assert.rejects(
      producer.publish(topic, {
        type: 'com.emporium.test.OrderPlaced',
        key: 'o-1',
        // @ts-expect-error -- a caller that escaped the type checker
        data: { orderId: 42, total: 'lots' },
      }),
      (error: unknown) =>
        error instanceof EventSchemaError &&
        error.issues.some((issue) => issue.startsWith('orderId: ')) &&
        error.issues.some((issue) => issue.startsWith('total: ')),
    );
    assert.equal(await recordCount(topic.name), 0);
    assert.equal(
      await sample('messaging_client_sent_messages_total', {
        messaging_destination_name: topic.name,
        outcome: 'invalid',
      }),
      1,
    );
    assert.equal(
      await sample('messaging_client_sent_messages_total', {
        messaging_destination_name: topic.name,
        outcome: 'success',
      }),
      undefined,
    );
  });

  it('publish fails with a 503 AppError when Kafka does not acknowledge in time', async () => {
    const { topic } = fresh();
    const slow = createEventProducer({
      kafka: new Kafka({
        brokers: ['127.0.0.1:1'],
        clientId: 'nowhere',
        logLevel: logLevel.NOTHING,
      }),
      source: '/emporium/test',
      metrics,
      logger,
      sendTimeoutMs: 300,
    });
    await assert.rejects(
      slow.publish(topic, { type: 't', key: 'k', data: { orderId: 'o', total: 1 } }),
      (error: unknown) => error instanceof AppError && error.status === 503,
    );
    assert.equal(
      await sample('messaging_client_sent_messages_total', {
        messaging_destination_name: topic.name,
        outcome: 'failure',
      }),
      1,
    );
  });

  it('stop() lets the in-flight handler finish and commits: a new member gets only new records', async () => {
    const { topic, groupId } = fresh();
    await ensureTopics(kafka, { topics: [topic], consumerGroups: [groupId] });
    const type = 'com.emporium.test.OrderPlaced';
    const firstSeen: string[] = [];
    let releaseSlow: (() => void) | undefined;
    const slowStarted = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    const first = await startRunner({
      groupId,
      handlers: [
        eventHandler(topic, async (event) => {
          if (event.id === 'e3') {
            releaseSlow?.();
            await sleep(500); // still running when stop() is called
          }
          firstSeen.push(event.id);
        }),
      ],
    });
    for (const id of ['e1', 'e2', 'e3']) {
      await producer.publish(topic, { id, type, key: id, data: { orderId: id, total: 1 } });
    }
    await slowStarted;
    await first.stop();
    assert.deepEqual(firstSeen, ['e1', 'e2', 'e3'], 'the in-flight handler finished');
    await first.stop(); // idempotent

    await producer.publish(topic, { id: 'e4', type, key: 'e4', data: { orderId: 'e4', total: 1 } });
    const secondSeen: string[] = [];
    await startRunner({
      groupId,
      handlers: [
        eventHandler(topic, (event) => {
          secondSeen.push(event.id);
          return Promise.resolve();
        }),
      ],
    });
    await eventually('e4 in the new member', () =>
      Promise.resolve(secondSeen.includes('e4') ? true : undefined),
    );
    assert.deepEqual(secondSeen, ['e4']);
  });

  it('refuses to start without handlers, or with two handlers for one topic', async () => {
    const { topic, groupId } = fresh();
    const runner = createConsumerRunner({ kafka, metrics, logger, groupId });
    await assert.rejects(runner.start(), /has no handlers/);
    runner.on(topic, () => Promise.resolve());
    assert.throws(() => runner.on(topic, () => Promise.resolve()), /already has a handler/);
  });
});
