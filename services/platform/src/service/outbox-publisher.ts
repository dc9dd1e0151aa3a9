import { EventSchemaError, type EventPublisher } from '../kafka/event-producer.js';
import type { TopicDefinition } from '../kafka/topics.js';
import type { OutboxEvent } from '../mongo/outbox.js';

/** An outbox event names a topic the service does not publish to: no retry can send it. */
export class UnknownOutboxTopicError extends Error {
  constructor(eventId: string, topic: string) {
    super(`outbox event ${eventId} names unknown topic ${topic}`);
    this.name = 'UnknownOutboxTopicError';
  }
}

/**
 * Whether a publish error is one no retry can cure (the relay's `isPoison`): the data breaks
 * the topic's schema, or the topic is unknown. Everything else (Kafka down) is retried.
 */
export function isPoisonPublishError(error: unknown): boolean {
  return error instanceof EventSchemaError || error instanceof UnknownOutboxTopicError;
}

/**
 * The outbox relay's publish function over the Kafka producer: looks up the event's topic
 * definition (so data is validated against its schema on the way out) and keeps the event's
 * id and time, so a redelivered event has the same CloudEvents id. The trace context is not
 * passed on: the relay restores the event's traceparent and tracestate as the parent of its own
 * span, which is the active one here, so the producer's `send` span becomes its child (passing
 * the traceparent would make the send span the relay span's sibling).
 */
export function outboxPublisher(
  producer: EventPublisher,
  topics: readonly TopicDefinition<unknown>[],
): (event: OutboxEvent) => Promise<void> {
  const byName = new Map(topics.map((topic) => [topic.name, topic]));
  return async (event) => {
    const topic = byName.get(event.topic);
    if (!topic) throw new UnknownOutboxTopicError(event.id, event.topic);
    await producer.publish(topic, {
      id: event.id,
      type: event.type,
      key: event.key,
      data: event.data,
      time: event.time,
    });
  };
}
