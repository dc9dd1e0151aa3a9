import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, ProducerRecord, RecordMetadata } from 'kafkajs';
import { pino } from 'pino';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { createMetrics } from '../telemetry/metrics.js';
import { createEventProducer } from './event-producer.js';
import { defineTopic } from './topics.js';

const topic = defineTopic('producer-order.v1', z.object({ n: z.number().int() }));

/** A kafkajs send the test settles by hand. */
interface PendingSend {
  record: ProducerRecord;
  resolve: (metadata: RecordMetadata[]) => void;
  reject: (error: Error) => void;
}

/**
 * The producer's own ordering logic, against a stand-in for kafkajs whose sends the test
 * settles (the real broker's side is the event pipeline's and the fault suite's).
 */
describe('event producer: one kafkajs send at a time', () => {
  let sends: PendingSend[];
  const kafka = {
    producer: () => ({
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      send: (record: ProducerRecord) =>
        new Promise<RecordMetadata[]>((resolve, reject) => {
          sends.push({ record, resolve, reject });
        }),
    }),
  } as unknown as Kafka;
  const metadata: RecordMetadata[] = [{ topicName: topic.name, partition: 0, errorCode: 0 }];
  const sentNumbers = (): number[] =>
    sends.map((send) => {
      const value = send.record.messages[0]?.value;
      return (JSON.parse(String(value)) as { n: number }).n;
    });

  beforeEach(() => {
    sends = [];
  });

  function producer(sendTimeoutMs: number) {
    return createEventProducer({
      kafka,
      source: '/emporium/test',
      metrics: createMetrics({ service: 'producer-test', runtimeMetrics: false }),
      logger: pino({ level: 'silent' }),
      sendTimeoutMs,
    });
  }

  it('starts a send only after the one before settled in kafkajs, even when its caller timed out', async () => {
    const events = producer(50);
    const first = events.publish(topic, { type: 't', key: 'a', data: { n: 1 } });
    await assert.rejects(first, (error: unknown) => error instanceof AppError);
    // kafkajs still retries the first: a second send now could take its sequence number.
    const second = events.publish(topic, { type: 't', key: 'b', data: { n: 2 } });
    await sleep(20);
    assert.deepEqual(sentNumbers(), [1]);
    sends[0]?.resolve(metadata);
    await sleep(5);
    assert.deepEqual(sentNumbers(), [1, 2]);
    sends[1]?.resolve(metadata);
    await second;
  });

  it('never sends an event whose caller gave up before its turn', async () => {
    const events = producer(50);
    const first = events.publish(topic, { type: 't', key: 'a', data: { n: 1 } });
    const second = events.publish(topic, { type: 't', key: 'b', data: { n: 2 } });
    await assert.rejects(first, (error: unknown) => error instanceof AppError);
    await assert.rejects(second, (error: unknown) => error instanceof AppError);
    sends[0]?.reject(new Error('broker gone'));
    const third = events.publish(topic, { type: 't', key: 'c', data: { n: 3 } });
    await sleep(5);
    assert.deepEqual(sentNumbers(), [1, 3]);
    sends[1]?.resolve(metadata);
    await third;
  });
});
