import { randomUUID } from 'node:crypto';
import { eventually } from '@emporium/harness';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { decodeCloudEvent, headersToStrings, type CloudEvent } from '../kafka/cloudevents.js';
import type { TopicDefinition } from '../kafka/topics.js';

/** One CloudEvent a watcher read from its topic, as another service would receive it. */
export interface WatchedEvent {
  readonly topic: string;
  /** The record key (the aggregate id); undefined for a record without one. */
  readonly key: string | undefined;
  /** The record headers as strings (the CloudEvents attributes, DLQ headers…). */
  readonly headers: Readonly<Record<string, string>>;
  readonly event: CloudEvent<unknown>;
  /** `event.data`, known to be a JSON object, so assertions can read its fields. */
  readonly data: Readonly<Record<string, unknown>>;
}

/** Collects every event published to one topic, from its beginning. */
export interface EventWatcher {
  readonly topic: string;
  /** The events read so far, in the order they arrived (per partition: published order). */
  readonly received: readonly WatchedEvent[];
  /**
   * Records that are not a CloudEvent with object data, described as `<offset>: <why>`; they
   * are kept out of `received`, so a test asserts this is empty when it must be.
   */
  readonly invalid: readonly string[];
  /** The events received so far that match. */
  filter(predicate: (watched: WatchedEvent) => boolean): WatchedEvent[];
  /** Polls (as harness `eventually` does) until an event matches; rejects after `timeoutMs`. */
  waitFor(
    what: string,
    predicate: (watched: WatchedEvent) => boolean,
    timeoutMs?: number,
  ): Promise<WatchedEvent>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Subscribes a consumer of its own group (so it sees everything and takes nothing from the
 * service's group) to `topic` from the beginning. `defer` gets the consumer's disconnect
 * before it connects, so the caller tears down even a watcher that failed half-way.
 */
export async function startWatcher(
  kafka: Kafka,
  topic: TopicDefinition<unknown> | string,
  defer: (stop: () => Promise<void>) => void,
): Promise<EventWatcher> {
  const name = typeof topic === 'string' ? topic : topic.name;
  const received: WatchedEvent[] = [];
  const invalid: string[] = [];
  // A short fetch wait keeps disconnect() quick: it waits for the fetch in flight.
  const consumer = kafka.consumer({ groupId: `watcher-${randomUUID()}`, maxWaitTimeInMs: 1000 });
  defer(() => consumer.disconnect());

  const record = (message: KafkaMessage): void => {
    let event: CloudEvent<unknown>;
    try {
      event = decodeCloudEvent(message);
    } catch (error) {
      invalid.push(`${message.offset}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (!isObject(event.data)) {
      invalid.push(`${message.offset}: ${event.type} ${event.id} has no object data`);
      return;
    }
    received.push({
      topic: name,
      key: message.key?.toString(),
      headers: headersToStrings(message.headers),
      event,
      data: event.data,
    });
  };

  await consumer.connect();
  await consumer.subscribe({ topic: name, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      record(message);
      return Promise.resolve();
    },
  });

  return {
    topic: name,
    received,
    invalid,
    filter: (predicate) => received.filter(predicate),
    waitFor: (what, predicate, timeoutMs) =>
      eventually(what, () => Promise.resolve(received.find(predicate)), timeoutMs),
  };
}
