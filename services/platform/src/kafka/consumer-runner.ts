import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import kafkajs, {
  type Consumer,
  type ConsumerConfig,
  type EachMessagePayload,
  type IHeaders,
  type Kafka,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { traceExemplar, type Metrics } from '../telemetry/metrics.js';
import {
  CloudEventDecodeError,
  decodeCloudEvent,
  headersToStrings,
  type CloudEvent,
} from './cloudevents.js';
import {
  MessagingAttr,
  messagingMetrics,
  TRACER_NAME,
  type DeadLetterReason,
  type ProcessOutcome,
} from './messaging-telemetry.js';
import { checkEvent, deadLetterTopic, type TopicDefinition } from './topics.js';

/** What a handler knows about the record besides the event. */
export interface EventContext {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset, a decimal string (offsets are 64-bit). */
  readonly offset: string;
  /** 1 for the first try; retries count up to the runner's maxAttempts. */
  readonly attempt: number;
  /** The record's headers as strings (CloudEvents attributes, trace context, others). */
  readonly headers: Readonly<Record<string, string>>;
  /** The runner's logger with topic, partition, offset and event id bound. */
  readonly logger: Logger;
}

/** Handles one event of a topic; throwing means "retry, then dead-letter". */
export type EventHandler<T> = (event: CloudEvent<T>, context: EventContext) => Promise<void>;

/** A handler bound to its topic, with the topic's type erased so handlers can share a list. */
export interface TopicHandler {
  readonly topic: string;
  /** Validates the event's data against the topic schema and binds the typed handler to it. */
  prepare(event: CloudEvent<unknown>): PreparedEvent;
}

/** The outcome of {@link TopicHandler.prepare}. */
export type PreparedEvent =
  | { readonly ok: true; readonly run: (context: EventContext) => Promise<void> }
  | { readonly ok: false; readonly error: string };

/** Binds a handler to a topic; the handler sees `data` typed by the topic's schema. */
export function eventHandler<T>(topic: TopicDefinition<T>, handler: EventHandler<T>): TopicHandler {
  return {
    topic: topic.name,
    prepare(event) {
      const parsed = checkEvent(topic, event.type, event.data);
      if (!parsed.ok) {
        return {
          ok: false,
          error: `Event does not match the schema of ${topic.name}: ${parsed.issues.join('; ')}`,
        };
      }
      const typed: CloudEvent<T> = { ...event, data: parsed.data };
      return { ok: true, run: (ctx) => handler(typed, ctx) };
    },
  };
}

/**
 * Remembers which events a group has processed, so a redelivery is skipped. Back it with a
 * unique index on (eventId, groupId); both calls may throw and are then retried.
 */
export interface IdempotencyStore {
  isProcessed(eventId: string, groupId: string): Promise<boolean>;
  markProcessed(eventId: string, groupId: string): Promise<void>;
}

/** Retry delays of a failing handler: initialMs, doubling each attempt, capped at maxMs. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** Options of {@link createConsumerRunner}. */
export interface ConsumerRunnerOptions {
  kafka: Kafka;
  /** Consumer group; also names the dead-letter topic `<groupId>.dlq`. */
  groupId: string;
  /** Handlers built with {@link eventHandler}; more can be added with `on()` before start. */
  handlers?: readonly TopicHandler[];
  metrics: Metrics;
  logger: Logger;
  /**
   * Handler attempts in total (first try included) before a record whose handler keeps failing
   * is dead-lettered; 3 by default. Transient failures ({@link isTransientError}) do not count:
   * they are retried for as long as they last.
   */
  maxAttempts?: number;
  /**
   * Waits between attempts: 100 ms doubling up to 5 s by default. A poison record thus holds
   * its partition for 0.3 s (3 attempts), not for the time a dependency takes to come back.
   */
  backoff?: BackoffOptions;
  idempotency?: IdempotencyStore;
  /**
   * Where a group with no committed offset starts: true (default) reads the retained history,
   * so events published before a service's first start are not skipped.
   */
  fromBeginning?: boolean;
  /**
   * Partitions processed in parallel (each still in order); 4 by default, so one partition
   * waiting on a retry does not hold up the member's other partitions.
   */
  partitionsConsumedConcurrently?: number;
  /** Further kafkajs consumer settings (session timeout, fetch sizes, …). */
  consumerConfig?: Omit<ConsumerConfig, 'groupId'>;
}

/** A running consumer group member. */
export interface ConsumerRunner {
  readonly groupId: string;
  /** `<groupId>.dlq`. */
  readonly deadLetterTopic: string;
  /** Adds a handler for a topic (before start); one handler per topic. */
  on<T>(topic: TopicDefinition<T>, handler: EventHandler<T>): ConsumerRunner;
  /** Connects, joins the group and starts consuming; resolves once the group is joined. */
  start(): Promise<void>;
  /** True from start() until stop(), unless kafkajs crashed and gave up (a liveness signal). */
  isRunning(): boolean;
  /**
   * Stops fetching, lets the in-flight handler call finish, commits the processed offsets,
   * leaves the group and disconnects. A record waiting between retries is not committed and
   * goes to the next member.
   */
  stop(): Promise<void>;
}

// kafkajs is CommonJS and its error classes are not statically detectable as named exports,
// so under Node's ESM loader they are only reachable through the default export.
const { KafkaJSError } = kafkajs;

/** Thrown out of eachMessage so kafkajs neither resolves nor commits the record's offset. */
class RedeliverError extends KafkaJSError {
  // A KafkaJSError so kafkajs does not log it as a crash of the user's eachMessage callback.
  override readonly name = 'RedeliverError';
}

/** Headers added to a dead-lettered record, beside its original ones. */
export const DLQ_HEADERS = {
  error: 'dlq-error',
  reason: 'dlq-reason',
  originalTopic: 'dlq-original-topic',
  originalPartition: 'dlq-original-partition',
  originalOffset: 'dlq-original-offset',
  originalTimestamp: 'dlq-original-timestamp',
  attempts: 'dlq-attempts',
  consumerGroup: 'dlq-consumer-group',
} as const;

// Kafka headers have no hard limit, but a stack-sized message would bloat every DLQ record.
const MAX_ERROR_HEADER_CHARS = 2000;

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Thrown by a handler for a condition that passes by itself (a race lost, another writer not
 * done yet): the runner retries it with backoff for as long as it lasts and never
 * dead-letters it.
 */
export class RetryLaterError extends Error {
  override readonly name: string = 'RetryLaterError';
}

/** Error codes of a connection that failed or dropped: the dependency is away, not the event bad. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/**
 * Whether a handler's error says "not now" rather than "never": a dependency unavailable or
 * too slow (503/504/429 `AppError`s, which the platform's MongoDB, Redis and upstream clients
 * throw), a dropped connection, or a {@link RetryLaterError}. Such an event is retried until
 * it succeeds (its partition waits, as it must to keep the order); anything else is a poison
 * event, retried `maxAttempts` times in all and dead-lettered.
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof RetryLaterError) return true;
  if (error instanceof AppError) return [429, 503, 504].includes(error.status);
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  // ioredis gives up on a command after its retries with this error while Redis is away.
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return error.cause !== undefined && isTransientError(error.cause);
}

/** The delay before retry number `attempt` (1 after the first failure), in ms. */
export function backoffDelay(attempt: number, backoff: BackoffOptions): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
}

/**
 * Creates a consumer group member that decodes CloudEvents, validates them against their topic
 * schema, runs the topic's handler inside a CONSUMER span continuing the producer's trace,
 * retries a failing handler with backoff, and dead-letters what cannot be processed to
 * `<groupId>.dlq` so the loop never stops on one record.
 */
export function createConsumerRunner(options: ConsumerRunnerOptions): ConsumerRunner {
  const { kafka, groupId, logger, idempotency } = options;
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError('maxAttempts must be an integer of at least 1.');
  }
  const backoff = options.backoff ?? { initialMs: 100, maxMs: 5000 };
  const dlqTopic = deadLetterTopic(groupId);
  const m = messagingMetrics(options.metrics);
  const tracer = trace.getTracer(TRACER_NAME);
  const handlers = new Map<string, TopicHandler>();
  let consumer: Consumer | undefined;
  let dlqProducer: Producer | undefined;
  let stopping = new AbortController();
  let crashed = false;
  // Partitions this member set a lag value for, so a rebalance can drop the ones it lost.
  const lagSeries = new Map<
    string,
    { messaging_destination_name: string; messaging_destination_partition_id: string }
  >();
  // The high watermark of each partition's batch in progress, so the lag moves with every
  // record processed, not only when a batch ends (a slow handler's batch can take minutes).
  const highWatermarks = new Map<string, bigint>();
  const setLag = (topic: string, partition: number, lag: bigint | number): void => {
    const labels = {
      messaging_destination_name: topic,
      messaging_destination_partition_id: String(partition),
    };
    lagSeries.set(`${topic}/${String(partition)}`, labels);
    m.lag.set({ ...labels, messaging_consumer_group_name: groupId }, Math.max(0, Number(lag)));
  };

  /**
   * Sets the lag of newly assigned partitions from the broker's offsets (committed position
   * against the high watermark), so a member reports its lag from the moment it joins, not
   * from its first non-empty batch: a quiet topic then shows 0, not nothing.
   */
  const seedLag = async (assigned: readonly { topic: string; partition: number }[]) => {
    const unknown = assigned.filter((a) => !lagSeries.has(`${a.topic}/${String(a.partition)}`));
    if (unknown.length === 0) return;
    const admin = kafka.admin();
    try {
      await admin.connect();
      const topics = [...new Set(unknown.map((a) => a.topic))];
      const committed = await admin.fetchOffsets({ groupId, topics });
      for (const topic of topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const positions = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const { partition } of unknown.filter((a) => a.topic === topic)) {
          const end = ends.find((e) => e.partition === partition);
          if (!end || lagSeries.has(`${topic}/${String(partition)}`)) continue;
          const position = positions.find((p) => p.partition === partition)?.offset ?? '-1';
          // No committed offset yet: the group starts from the low watermark (fromBeginning).
          const from = BigInt(position) >= 0n ? BigInt(position) : BigInt(end.low);
          setLag(topic, partition, BigInt(end.high) - from);
        }
      }
    } catch (error) {
      logger.debug({ err: error, consumer_group: groupId }, 'Could not read offsets for the lag');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };

  const register = (handler: TopicHandler): void => {
    if (consumer) throw new Error('Add handlers before start().');
    if (handlers.has(handler.topic)) {
      throw new Error(`Consumer group ${groupId} already has a handler for ${handler.topic}.`);
    }
    handlers.set(handler.topic, handler);
  };
  for (const handler of options.handlers ?? []) register(handler);

  async function deadLetter(
    payload: EachMessagePayload,
    reason: DeadLetterReason,
    error: string,
    attempts: number,
    span: Span,
  ): Promise<void> {
    const { topic, partition, message } = payload;
    const labels = { messaging_destination_name: topic, messaging_consumer_group_name: groupId };
    const headers: IHeaders = {
      ...message.headers,
      [DLQ_HEADERS.error]: error.slice(0, MAX_ERROR_HEADER_CHARS),
      [DLQ_HEADERS.reason]: reason,
      [DLQ_HEADERS.originalTopic]: topic,
      [DLQ_HEADERS.originalPartition]: String(partition),
      [DLQ_HEADERS.originalOffset]: message.offset,
      [DLQ_HEADERS.originalTimestamp]: message.timestamp,
      [DLQ_HEADERS.attempts]: String(attempts),
      [DLQ_HEADERS.consumerGroup]: groupId,
    };
    try {
      if (!dlqProducer) throw new Error('The runner is not started.');
      // The original bytes, untouched: an operator replays a DLQ record as it first arrived.
      await dlqProducer.send({
        topic: dlqTopic,
        acks: -1,
        messages: [{ key: message.key, value: message.value, headers }],
      });
    } catch (sendError) {
      m.processFailures.inc({ ...labels, reason: 'dead-letter-error' });
      span.recordException(sendError instanceof Error ? sendError : String(sendError));
      logger.error(
        { err: sendError, topic, partition, offset: message.offset, dlq_topic: dlqTopic },
        'Dead-lettering failed; the record stays uncommitted and will be redelivered',
      );
      throw new RedeliverError(`Dead-lettering to ${dlqTopic} failed: ${errorMessage(sendError)}`, {
        retriable: true,
      });
    }
    m.deadLettered.inc({ ...labels, reason });
    span.addEvent('dead-lettered', { 'dlq.topic': dlqTopic, 'dlq.reason': reason });
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.slice(0, MAX_ERROR_HEADER_CHARS) });
    logger.error(
      { topic, partition, offset: message.offset, reason, attempts, error, dlq_topic: dlqTopic },
      'Record dead-lettered',
    );
  }

  async function process(
    payload: EachMessagePayload,
    headers: Record<string, string>,
    span: Span,
  ): Promise<ProcessOutcome> {
    const { topic, partition, message } = payload;
    const labels = { messaging_destination_name: topic, messaging_consumer_group_name: groupId };

    let event: CloudEvent<unknown>;
    try {
      event = decodeCloudEvent(message, headers);
    } catch (error) {
      if (!(error instanceof CloudEventDecodeError)) throw error;
      m.processFailures.inc({ ...labels, reason: 'invalid' });
      await deadLetter(payload, 'invalid', error.message, 0, span);
      return 'dead-lettered';
    }
    span.setAttribute(MessagingAttr.MESSAGE_ID, event.id);
    span.setAttribute('cloudevents.event_id', event.id);
    span.setAttribute('cloudevents.event_type', event.type);

    const handler = handlers.get(topic);
    const prepared: PreparedEvent = handler
      ? handler.prepare(event)
      : { ok: false, error: `Consumer group ${groupId} has no handler for ${topic}.` };
    if (!prepared.ok) {
      m.processFailures.inc({ ...labels, reason: 'invalid' });
      await deadLetter(payload, 'invalid', prepared.error, 0, span);
      return 'dead-lettered';
    }

    // Made on first use: a pino child redacts its bindings when made, a cost per record the
    // profile showed (bench/profiles/kafka-runner.md) for the handlers that log nothing.
    let child: Logger | undefined;
    const recordLogger = (): Logger =>
      (child ??= logger.child({
        topic,
        partition,
        offset: message.offset,
        event_id: event.id,
        event_type: event.type,
      }));
    // Failures that are the event's own (not a dependency away): these lead to the DLQ.
    let poisonAttempts = 0;
    for (let attempt = 1; ; attempt++) {
      span.setAttribute(MessagingAttr.DELIVERY_ATTEMPTS, attempt);
      try {
        if (idempotency && (await idempotency.isProcessed(event.id, groupId))) {
          m.duplicates.inc(labels);
          span.addEvent('duplicate skipped');
          recordLogger().info('Event already processed by this group; skipped');
          return 'duplicate';
        }
        await prepared.run({
          topic,
          partition,
          offset: message.offset,
          attempt,
          headers,
          get logger() {
            return recordLogger();
          },
        });
        if (idempotency) await idempotency.markProcessed(event.id, groupId);
        return 'success';
      } catch (error) {
        const transient = isTransientError(error);
        m.processFailures.inc({ ...labels, reason: transient ? 'transient' : 'handler-error' });
        span.recordException(error instanceof Error ? error : String(error));
        if (!transient) poisonAttempts += 1;
        if (poisonAttempts >= maxAttempts) {
          await deadLetter(payload, 'handler-failed', errorMessage(error), attempt, span);
          return 'dead-lettered';
        }
        const delay = backoffDelay(transient ? attempt : poisonAttempts, backoff);
        recordLogger().warn(
          { err: error, attempt, transient, max_attempts: maxAttempts, retry_in_ms: delay },
          transient
            ? 'Event handler cannot proceed yet; retrying'
            : 'Event handler failed; retrying',
        );
        try {
          await sleep(delay, undefined, { signal: stopping.signal });
        } catch {
          throw new RedeliverError('The consumer stopped while the record awaited a retry.', {
            retriable: true,
          });
        }
        // A long backoff must not cost the group membership (session timeout).
        await payload.heartbeat();
      }
    }
  }

  async function eachMessage(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    m.consumed.inc({ messaging_destination_name: topic, messaging_consumer_group_name: groupId });
    const started = performance.now();
    const headers = headersToStrings(message.headers);
    // The producer's span is the parent; ROOT_CONTEXT keeps kafkajs's loop context out of it.
    const parent = propagation.extract(ROOT_CONTEXT, headers);
    const span = tracer.startSpan(
      `process ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [MessagingAttr.SYSTEM]: 'kafka',
          [MessagingAttr.DESTINATION_NAME]: topic,
          [MessagingAttr.DESTINATION_PARTITION_ID]: String(partition),
          [MessagingAttr.OPERATION_TYPE]: 'process',
          [MessagingAttr.OPERATION_NAME]: 'process',
          [MessagingAttr.CONSUMER_GROUP_NAME]: groupId,
          [MessagingAttr.KAFKA_OFFSET]: Number(message.offset),
          ...keyAttribute(message),
          ...(message.value ? { [MessagingAttr.MESSAGE_BODY_SIZE]: message.value.length } : {}),
        },
      },
      parent,
    );
    await context.with(trace.setSpan(parent, span), async () => {
      let outcome: ProcessOutcome = 'redeliver';
      try {
        outcome = await process(payload, headers, span);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
        if (error instanceof RedeliverError) throw error;
        // Only our own bugs get here; never let one record stop the loop for good.
        logger.error({ err: error, topic, partition, offset: message.offset }, 'Consumer error');
        throw new RedeliverError(errorMessage(error), { retriable: true });
      } finally {
        m.processDuration.observe({
          labels: {
            messaging_destination_name: topic,
            messaging_consumer_group_name: groupId,
            outcome,
          },
          value: (performance.now() - started) / 1000,
          exemplarLabels: traceExemplar(),
        });
        span.end();
      }
      const highWatermark = highWatermarks.get(`${topic}/${String(partition)}`);
      // Records after this one, up to the last one written (the high watermark is the next).
      if (highWatermark !== undefined) {
        setLag(topic, partition, highWatermark - 1n - BigInt(message.offset));
      }
    });
  }

  const runner: ConsumerRunner = {
    groupId,
    deadLetterTopic: dlqTopic,
    on(topic, handler) {
      register(eventHandler(topic, handler));
      return runner;
    },
    async start() {
      if (consumer) throw new Error(`Consumer group ${groupId} is already started.`);
      if (handlers.size === 0) throw new Error(`Consumer group ${groupId} has no handlers.`);
      stopping = new AbortController();
      crashed = false;
      const c = kafka.consumer({
        // A short fetch wait keeps stop() quick: it waits for the fetch in flight.
        maxWaitTimeInMs: 1000,
        ...options.consumerConfig,
        groupId,
      });
      // Bounded retries, unlike the idempotent producer: a failed dead-letter send must
      // surface so the record is left uncommitted rather than block the partition forever.
      const p = kafka.producer({ idempotent: false });
      consumer = c;
      dlqProducer = p;
      c.on(c.events.GROUP_JOIN, ({ payload }) => {
        const assigned = new Set(
          Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
            partitions.map((partition) => `${topic}/${String(partition)}`),
          ),
        );
        for (const [key, labels] of lagSeries) {
          if (!assigned.has(key)) {
            m.lag.remove({ ...labels, messaging_consumer_group_name: groupId });
            lagSeries.delete(key);
            highWatermarks.delete(key);
          }
        }
        void seedLag(
          Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
            partitions.map((partition) => ({ topic, partition })),
          ),
        );
      });
      c.on(c.events.CRASH, ({ payload }) => {
        // kafkajs restarts after retriable failures (our redeliveries among them); a crash
        // without restart (e.g. an authorisation error) leaves this member dead.
        if (!payload.restart) crashed = true;
        logger.error(
          { err: payload.error, consumer_group: groupId, restart: payload.restart },
          payload.restart ? 'Kafka consumer crashed; restarting' : 'Kafka consumer crashed',
        );
      });
      c.on(c.events.START_BATCH_PROCESS, ({ payload }) => {
        const { topic, partition } = payload;
        highWatermarks.set(`${topic}/${String(partition)}`, BigInt(payload.highWatermark));
        // offsetLagLow counts the records after the batch's first; the first is not done yet.
        setLag(topic, partition, BigInt(payload.offsetLagLow) + 1n);
      });
      c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
        setLag(payload.topic, payload.partition, BigInt(payload.offsetLag));
      });
      try {
        await Promise.all([c.connect(), p.connect()]);
        await c.subscribe({
          topics: [...handlers.keys()],
          fromBeginning: options.fromBeginning ?? true,
        });
        await c.run({
          autoCommit: true,
          partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
          eachMessage,
        });
      } catch (error) {
        consumer = undefined;
        dlqProducer = undefined;
        await Promise.allSettled([c.disconnect(), p.disconnect()]);
        throw error;
      }
      // Zero series up front, so dashboards and alerts see the group's retries and dead
      // letters as 0 (not as no data) until the first one.
      for (const topic of handlers.keys()) {
        const labels = {
          messaging_destination_name: topic,
          messaging_consumer_group_name: groupId,
        };
        for (const reason of ['invalid', 'handler-failed'] satisfies DeadLetterReason[])
          m.deadLettered.inc({ ...labels, reason }, 0);
        m.processFailures.inc({ ...labels, reason: 'handler-error' }, 0);
      }
      logger.info({ consumer_group: groupId, topics: [...handlers.keys()] }, 'Consumer started');
    },
    isRunning: () => consumer !== undefined && !crashed,
    async stop() {
      const c = consumer;
      const p = dlqProducer;
      if (!c || !p) return;
      stopping.abort();
      // kafkajs's stop waits for the record in flight, commits resolved offsets at the end of
      // the batch, and leaves the group; disconnect then closes the connections.
      await c.stop();
      await c.disconnect();
      await p.disconnect();
      consumer = undefined;
      dlqProducer = undefined;
      for (const labels of lagSeries.values())
        m.lag.remove({ ...labels, messaging_consumer_group_name: groupId });
      lagSeries.clear();
      highWatermarks.clear();
      logger.info({ consumer_group: groupId }, 'Consumer stopped');
    },
  };
  return runner;
}

function keyAttribute(message: KafkaMessage): Record<string, string> {
  return message.key === null ? {} : { [MessagingAttr.KAFKA_MESSAGE_KEY]: message.key.toString() };
}
