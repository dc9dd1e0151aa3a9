import { z } from 'zod';
import { SUBSCRIPTIONS, TOPICS } from './catalogue.js';
import type { EventTopic, EventType } from './event-type.js';

/** An AsyncAPI 3.0 document as plain JSON. */
export type AsyncApiDocument = Record<string, unknown>;

/** AsyncAPI ids allow letters, digits, `_` and `-`: `orders.v1` becomes `orders-v1`. */
function channelId(topic: { name: string }): string {
  return topic.name.replaceAll('.', '-');
}

/** The CloudEvents binary-mode headers every message carries (Kafka protocol binding). */
const CLOUDEVENTS_HEADERS = {
  type: 'object',
  required: ['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_time', 'content-type'],
  properties: {
    ce_specversion: { type: 'string', const: '1.0' },
    ce_id: { type: 'string', description: 'Unique per source; consumers deduplicate by it.' },
    ce_source: { type: 'string', description: 'The producing service, e.g. /emporium/orders.' },
    ce_type: { type: 'string', description: 'The event type.' },
    ce_time: { type: 'string', format: 'date-time' },
    ce_subject: { type: 'string' },
    'content-type': { type: 'string', const: 'application/json' },
    traceparent: { type: 'string', description: 'W3C trace context of the producing span.' },
    tracestate: { type: 'string' },
  },
};

function message(event: EventType<unknown>): Record<string, unknown> {
  const payload = z.toJSONSchema(event.schema, { target: 'draft-7', io: 'output' });
  delete (payload as { $schema?: string }).$schema;
  return {
    name: event.name,
    title: event.name,
    summary: event.summary,
    contentType: 'application/json',
    headers: {
      ...CLOUDEVENTS_HEADERS,
      properties: {
        ...CLOUDEVENTS_HEADERS.properties,
        ce_type: { type: 'string', const: event.type },
      },
    },
    payload,
    bindings: {
      kafka: { key: { type: 'string', description: 'The aggregate id.' }, bindingVersion: '0.5.0' },
    },
  };
}

/**
 * Builds the AsyncAPI 3.0 document of every topic: one channel per topic, one message per
 * event type (payload schema from zod), a send operation for the producing service and a
 * receive operation per consuming group.
 */
export function buildAsyncApiDocument(version: string): AsyncApiDocument {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const topic of TOPICS as readonly EventTopic<unknown>[]) {
    const id = channelId(topic);
    channels[id] = {
      address: topic.name,
      title: topic.name,
      summary: topic.summary,
      messages: Object.fromEntries(
        topic.events.map((e) => [e.name, { $ref: `#/components/messages/${e.name}` }]),
      ),
    };
    for (const event of topic.events) messages[event.name] = message(event);
    operations[`${topic.producer}-send-${id}`] = {
      action: 'send',
      title: `${topic.producer} publishes to ${topic.name}`,
      channel: { $ref: `#/channels/${id}` },
      messages: topic.events.map((e) => ({ $ref: `#/channels/${id}/messages/${e.name}` })),
    };
    for (const [group, types] of Object.entries(SUBSCRIPTIONS)) {
      const received = topic.events.filter((e) => types.includes(e.type));
      if (received.length === 0) continue;
      operations[`${group}-receive-${id}`] = {
        action: 'receive',
        title: `${group} consumes ${topic.name}`,
        summary: `Consumer group ${group}; failures go to ${group}.dlq.`,
        channel: { $ref: `#/channels/${id}` },
        messages: received.map((e) => ({ $ref: `#/channels/${id}/messages/${e.name}` })),
        bindings: {
          kafka: { groupId: { type: 'string', enum: [group] }, bindingVersion: '0.5.0' },
        },
      };
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Emporium events',
      version,
      description:
        'CloudEvents 1.0 over Kafka (binary content mode). Keys are aggregate ids; every consumer group has a dead-letter topic <group>.dlq.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: '127.0.0.1:19092',
        protocol: 'kafka',
        description: 'The broker `npm start` runs.',
      },
    },
    channels,
    operations,
    components: { messages },
  };
}
