import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
} from '@opentelemetry/api';
import {
  Partitioners,
  type Kafka,
  type Producer,
  type ProducerConfig,
  type RecordMetadata,
} from 'kafkajs';
import type { Logger } from 'pino';
import { errors } from '../errors.js';
import { traceExemplar, type Metrics } from '../telemetry/metrics.js';
import {
  CLOUDEVENTS_SPEC_VERSION,
  encodeCloudEvent,
  JSON_CONTENT_TYPE,
  type CloudEvent,
} from './cloudevents.js';
import { MessagingAttr, messagingMetrics, TRACER_NAME } from './messaging-telemetry.js';
import { checkEvent, type TopicDefinition } from './topics.js';

/** An event to publish; the producer fills in the rest of the CloudEvents envelope. */
export interface OutgoingEvent<T> {
  /** CloudEvents id; a random UUID when omitted. Outbox entries pass theirs to stay stable. */
  id?: string;
  /** CloudEvents type, e.g. `com.emporium.orders.OrderPlaced`. */
  type: string;
  /** The aggregate id: the Kafka key, so one aggregate's events keep their order. */
  key: string;
  data: T;
  /** RFC 3339 time of the occurrence; now when omitted. */
  time?: string;
  subject?: string;
  /** W3C traceparent to continue instead of the active context (the outbox relay's case). */
  traceparent?: string;
  /** W3C tracestate that goes with {@link OutgoingEvent.traceparent}. */
  tracestate?: string;
}

/** Publishes events to topics; what services depend on, so tests can pass a fake. */
export interface EventPublisher {
  /**
   * Sends one event once the broker acknowledged it. Rejects with {@link EventSchemaError}
   * (nothing sent) when data fails the topic schema, and with a 503 `AppError` when Kafka
   * fails or does not answer in time.
   */
  publish<T>(topic: TopicDefinition<T>, event: OutgoingEvent<T>): Promise<void>;
}

/** An {@link EventPublisher} with its Kafka connection. */
export interface EventProducer extends EventPublisher {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/** Options of {@link createEventProducer}. */
export interface EventProducerOptions {
  kafka: Kafka;
  /** CloudEvents source of every event, e.g. `/emporium/orders`. */
  source: string;
  metrics: Metrics;
  logger: Logger;
  /**
   * How long publish waits for the broker's acknowledgement before it rejects, in ms (10 s by
   * default). The idempotent producer itself retries without end, so without this a publish
   * during a Kafka outage would never settle; the send may still land later (at-least-once).
   */
  sendTimeoutMs?: number;
  /** kafkajs producer settings beyond those the idempotent producer fixes. */
  producerConfig?: Omit<ProducerConfig, 'idempotent' | 'maxInFlightRequests' | 'transactionalId'>;
}

/** Data that fails its topic's schema: a bug in the producing code, never sent. */
export class EventSchemaError extends Error {
  override readonly name = 'EventSchemaError';
  constructor(
    readonly topic: string,
    /** One `path: message` line per zod issue. */
    readonly issues: string[],
  ) {
    super(`Event data does not match the schema of ${topic}: ${issues.join('; ')}`);
  }
}

/**
 * Creates an idempotent producer of CloudEvents: data validated against the topic schema,
 * acks from all in-sync replicas, a PRODUCER span per event with its context in the headers.
 */
export function createEventProducer(options: EventProducerOptions): EventProducer {
  const { source, logger } = options;
  const sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
  const m = messagingMetrics(options.metrics);
  const tracer = trace.getTracer(TRACER_NAME);
  const producer: Producer = options.kafka.producer({
    // The Java client's murmur2 partitioner (kafkajs's default since 2.0), stated so kafkajs
    // does not warn about the change at every start; keys land where Java producers put them.
    createPartitioner: Partitioners.DefaultPartitioner,
    ...options.producerConfig,
    // The idempotent producer retries without limit, as kafkajs requires for its guarantees;
    // one request in flight because kafkajs assigns sequence numbers per request and
    // concurrent requests to one partition have produced OUT_OF_ORDER_SEQUENCE_NUMBER.
    idempotent: true,
    maxInFlightRequests: 1,
  });

  // kafkajs numbers an idempotent producer's batches per partition, and when a request fails it
  // takes the number back so that the retry reuses it. If another send takes that number first
  // (two sends interleave, or a publish timed out while kafkajs still retries it) and the failed
  // request had in fact been written (the broker died before it answered), the broker takes the
  // other batch for a duplicate and acknowledges it without writing it: a lost event, seen in the
  // fault suite's kafka kill -9. So sends go one at a time, and each waits until the one before
  // has settled in kafkajs, even when that one's caller stopped waiting for it.
  let queue: Promise<void> = Promise.resolve();
  const sendInTurn = (
    topicName: string,
    record: ReturnType<typeof encodeCloudEvent>,
    attempt: { abandoned: boolean },
  ): Promise<RecordMetadata[]> => {
    const sent = queue.then(() => {
      // A caller that gave up before its turn gets its error already; sending now would only
      // race the retry it makes next.
      if (attempt.abandoned) throw new Error('abandoned before its turn');
      return producer.send({ topic: topicName, acks: -1, messages: [record] });
    });
    queue = sent.then(
      () => undefined,
      () => undefined,
    );
    return sent;
  };

  async function publish<T>(topic: TopicDefinition<T>, event: OutgoingEvent<T>): Promise<void> {
    const parsed = checkEvent(topic, event.type, event.data);
    if (!parsed.ok) {
      m.sent.inc({ messaging_destination_name: topic.name, outcome: 'invalid' });
      throw new EventSchemaError(topic.name, parsed.issues);
    }
    const envelope: CloudEvent<T> = {
      specversion: CLOUDEVENTS_SPEC_VERSION,
      id: event.id ?? randomUUID(),
      source,
      type: event.type,
      time: event.time ?? new Date().toISOString(),
      subject: event.subject,
      datacontenttype: JSON_CONTENT_TYPE,
      partitionkey: event.key,
      data: parsed.data,
    };
    const record = encodeCloudEvent(envelope);

    const parent: Context =
      event.traceparent === undefined
        ? context.active()
        : propagation.extract(ROOT_CONTEXT, {
            traceparent: event.traceparent,
            ...(event.tracestate === undefined ? {} : { tracestate: event.tracestate }),
          });
    const span = tracer.startSpan(
      `send ${topic.name}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [MessagingAttr.SYSTEM]: 'kafka',
          [MessagingAttr.DESTINATION_NAME]: topic.name,
          [MessagingAttr.OPERATION_TYPE]: 'send',
          [MessagingAttr.OPERATION_NAME]: 'send',
          [MessagingAttr.MESSAGE_ID]: envelope.id,
          [MessagingAttr.KAFKA_MESSAGE_KEY]: event.key,
          [MessagingAttr.MESSAGE_BODY_SIZE]: record.value.length,
          'cloudevents.event_id': envelope.id,
          'cloudevents.event_type': envelope.type,
        },
      },
      parent,
    );
    const spanContext = trace.setSpan(parent, span);
    // The consumer's span continues from these headers, whatever the relay's own context is.
    propagation.inject(spanContext, record.headers);

    const started = performance.now();
    await context.with(spanContext, async () => {
      let outcome = 'success';
      try {
        const attempt = { abandoned: false };
        const [metadata] = await withTimeout(
          sendInTurn(topic.name, record, attempt),
          sendTimeoutMs,
          `Kafka did not acknowledge the event on ${topic.name} within ${String(sendTimeoutMs)} ms.`,
          () => {
            attempt.abandoned = true;
          },
        );
        if (metadata) {
          span.setAttribute(MessagingAttr.DESTINATION_PARTITION_ID, String(metadata.partition));
          if (metadata.baseOffset !== undefined) {
            span.setAttribute(MessagingAttr.KAFKA_OFFSET, Number(metadata.baseOffset));
          }
        }
      } catch (error) {
        outcome = 'failure';
        const message = error instanceof Error ? error.message : String(error);
        span.recordException(error instanceof Error ? error : message);
        span.setStatus({ code: SpanStatusCode.ERROR, message });
        span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
        logger.error(
          { err: error, topic: topic.name, event_id: envelope.id, event_type: envelope.type },
          'Kafka publish failed',
        );
        throw errors.unavailable(`Publishing to ${topic.name} failed: ${message}`, 5, error);
      } finally {
        m.sent.inc({ messaging_destination_name: topic.name, outcome });
        m.sendDuration.observe({
          labels: { messaging_destination_name: topic.name, outcome },
          value: (performance.now() - started) / 1000,
          exemplarLabels: traceExemplar(),
        });
        span.end();
      }
    });
  }

  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    publish,
  };
}

/** Rejects with `message` (after calling `onTimeout`) after `ms` unless the promise settles first. */
async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
  onTimeout: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(message));
    }, ms);
  });
  // The losing send may still fail later; that rejection is expected and already handled.
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
