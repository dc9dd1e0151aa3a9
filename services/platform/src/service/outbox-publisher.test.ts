import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { z } from 'zod';
import { createEventProducer, EventSchemaError } from '../kafka/event-producer.js';
import { defineTopic } from '../kafka/topics.js';
import { buildOutboxEvent } from '../mongo/outbox.js';
import { createMetrics } from '../telemetry/metrics.js';
import {
  isPoisonPublishError,
  outboxPublisher,
  UnknownOutboxTopicError,
} from './outbox-publisher.js';

describe('outbox publisher', () => {
  const topic = defineTopic('things.v1', z.object({ count: z.number().int() }));
  // Never connected: both failures happen before anything is sent, which is why no retry helps.
  const producer = createEventProducer({
    kafka: new Kafka({ brokers: ['127.0.0.1:9'], logLevel: logLevel.NOTHING }),
    source: '/emporium/test',
    metrics: createMetrics({ service: 'test', runtimeMetrics: false }),
    logger: pino({ level: 'silent' }),
  });
  const publish = outboxPublisher(producer, [topic]);

  it('refuses data that breaks the topic schema as poison', async () => {
    const event = buildOutboxEvent({
      topic: topic.name,
      type: 'T',
      key: 'k',
      data: { count: 'x' },
    });
    const error = await publish(event).then(
      () => assert.fail('published'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof EventSchemaError);
    assert.equal(isPoisonPublishError(error), true);
  });

  it('refuses an unknown topic as poison, and treats other errors as worth a retry', async () => {
    const event = buildOutboxEvent({ topic: 'nowhere.v1', type: 'T', key: 'k', data: {} });
    const error = await publish(event).then(
      () => assert.fail('published'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof UnknownOutboxTopicError);
    assert.match(error.message, /nowhere\.v1/);
    assert.equal(isPoisonPublishError(error), true);
    assert.equal(isPoisonPublishError(new Error('broker not available')), false);
  });
});
