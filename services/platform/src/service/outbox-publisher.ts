import type { EventPublisher } from '../kafka/event-producer.js';
import type { TopicDefinition } from '../kafka/topics.js';
import type { OutboxEvent } from '../mongo/outbox.js';

/**
 * The outbox relay's publish function over the Kafka producer: looks up the event's topic
 * definition (so data is validated against its schema on the way out) and keeps the event's
 * id, time and traceparent, so a redelivered event has the same CloudEvents id.
 */
export function outboxPublisher(
  producer: EventPublisher,
  topics: readonly TopicDefinition<unknown>[],
): (event: OutboxEvent) => Promise<void> {
  const byName = new Map(topics.map((topic) => [topic.name, topic]));
  return async (event) => {
    const topic = byName.get(event.topic);
    if (!topic) throw new Error(`outbox event ${event.id} names unknown topic ${event.topic}`);
    await producer.publish(topic, {
      id: event.id,
      type: event.type,
      key: event.key,
      data: event.data,
      time: event.time,
      ...(event.traceparent === undefined ? {} : { traceparent: event.traceparent }),
    });
  };
}
