import type { Counter, Gauge, Histogram } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS, type Metrics } from '../telemetry/metrics.js';

/**
 * OpenTelemetry messaging semantic-convention attribute names. Copied rather than imported
 * from `@opentelemetry/semantic-conventions/incubating`, as that package advises for
 * conventions still in development (its incubating entry point may change in a minor).
 */
export const MessagingAttr = {
  SYSTEM: 'messaging.system',
  DESTINATION_NAME: 'messaging.destination.name',
  DESTINATION_PARTITION_ID: 'messaging.destination.partition.id',
  OPERATION_TYPE: 'messaging.operation.type',
  OPERATION_NAME: 'messaging.operation.name',
  MESSAGE_ID: 'messaging.message.id',
  MESSAGE_BODY_SIZE: 'messaging.message.body.size',
  CONSUMER_GROUP_NAME: 'messaging.consumer.group.name',
  KAFKA_MESSAGE_KEY: 'messaging.kafka.message.key',
  KAFKA_OFFSET: 'messaging.kafka.offset',
  /** Emporium's own: how many times the handler ran for this record. */
  DELIVERY_ATTEMPTS: 'emporium.messaging.attempts',
} as const;

/** The instrumentation scope name of the platform's Kafka spans. */
export const TRACER_NAME = '@emporium/platform/kafka';

/** Why a record went to the dead-letter topic (the `dlq-reason` header and metric label). */
export type DeadLetterReason = 'invalid' | 'handler-failed';

/** How processing one record ended (the `outcome` label of the process histogram). */
export type ProcessOutcome = 'success' | 'duplicate' | 'dead-lettered' | 'redeliver';

/**
 * The Prometheus metrics of the producer and the consumer runner. Their labels are the semconv
 * attributes `messaging.destination.name`, `messaging.consumer.group.name` and
 * `messaging.destination.partition.id` in Prometheus's underscore form (prom-client allows no
 * dots in a label name), as the OpenTelemetry-to-Prometheus mapping writes them.
 */
export interface MessagingMetrics {
  /** Records sent; outcome `success`, `failure`, or `invalid` (rejected before sending). */
  readonly sent: Counter<'messaging_destination_name' | 'outcome'>;
  /** Time of one send until the broker acknowledged it (all in-sync replicas), in seconds. */
  readonly sendDuration: Histogram<'messaging_destination_name' | 'outcome'>;
  /** Records handed to the runner by the broker, whatever became of them. */
  readonly consumed: Counter<'messaging_destination_name' | 'messaging_consumer_group_name'>;
  /** From receipt to commit-ready (all attempts and backoff included), in seconds. */
  readonly processDuration: Histogram<
    'messaging_destination_name' | 'messaging_consumer_group_name' | 'outcome'
  >;
  /** Failures: `invalid` records, `handler-error` per failed attempt, `dead-letter-error`. */
  readonly processFailures: Counter<
    'messaging_destination_name' | 'messaging_consumer_group_name' | 'reason'
  >;
  readonly deadLettered: Counter<
    'messaging_destination_name' | 'messaging_consumer_group_name' | 'reason'
  >;
  /** Redelivered events the idempotency store had already seen. */
  readonly duplicates: Counter<'messaging_destination_name' | 'messaging_consumer_group_name'>;
  /** Records after the group's position up to the high watermark, in messages: set when a member joins, at each batch's start and after each record. */
  readonly lag: Gauge<
    | 'messaging_destination_name'
    | 'messaging_destination_partition_id'
    | 'messaging_consumer_group_name'
  >;
}

/** Gets (or creates, once per registry) the messaging metrics. */
export function messagingMetrics(metrics: Metrics): MessagingMetrics {
  return {
    sent: metrics.counter({
      name: 'messaging_client_sent_messages_total',
      help: 'Kafka records sent by the producer, by outcome (success, failure, invalid).',
      labelNames: ['messaging_destination_name', 'outcome'],
    }),
    sendDuration: metrics.histogram({
      name: 'messaging_client_operation_duration_seconds',
      help: 'Time from send to the acknowledgement of all in-sync replicas, in seconds.',
      labelNames: ['messaging_destination_name', 'outcome'],
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    consumed: metrics.counter({
      name: 'messaging_client_consumed_messages_total',
      help: 'Kafka records delivered to the consumer runner.',
      labelNames: ['messaging_destination_name', 'messaging_consumer_group_name'],
    }),
    processDuration: metrics.histogram({
      name: 'messaging_process_duration_seconds',
      help: 'Time to process one record, retries and backoff included, in seconds.',
      labelNames: ['messaging_destination_name', 'messaging_consumer_group_name', 'outcome'],
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    processFailures: metrics.counter({
      name: 'messaging_process_failures_total',
      help: 'Processing failures by reason: invalid (record), handler-error (counts toward the DLQ), transient (a dependency away; retried until it passes), dead-letter-error.',
      labelNames: ['messaging_destination_name', 'messaging_consumer_group_name', 'reason'],
    }),
    deadLettered: metrics.counter({
      name: 'messaging_dead_lettered_messages_total',
      help: 'Records sent to the consumer group dead-letter topic, by reason.',
      labelNames: ['messaging_destination_name', 'messaging_consumer_group_name', 'reason'],
    }),
    duplicates: metrics.counter({
      name: 'messaging_duplicate_messages_total',
      help: 'Redelivered events skipped because the group had already processed them.',
      labelNames: ['messaging_destination_name', 'messaging_consumer_group_name'],
    }),
    lag: metrics.gauge({
      name: 'messaging_consumer_lag',
      help: 'Records between the last processed offset and the high watermark, in messages.',
      labelNames: [
        'messaging_destination_name',
        'messaging_destination_partition_id',
        'messaging_consumer_group_name',
      ],
    }),
  };
}
