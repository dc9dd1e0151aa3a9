import type { KeyedMutex } from './keyed-mutex.js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import type { Collection, Document, Filter } from 'mongodb';
import type { Logger } from 'pino';
import type { Metrics } from '../telemetry/metrics.js';
import {
  outboxEventDate as eventDate,
  type OutboxDocument,
  type OutboxEvent,
  type StoredOutboxEvent,
} from './outbox.js';

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions<T extends Document = Document> {
  /**
   * The aggregate collections whose embedded outboxes this relay drains. Collections of
   * different document types can be passed untyped (`db.collection('orders')`).
   */
  collections: Collection<T> | readonly Collection<T>[];
  /**
   * Sends one event (e.g. a Kafka produce with acks=all) and resolves once the broker has it.
   * Injected so this module does not depend on the Kafka client.
   */
  publish: (event: OutboxEvent) => Promise<void>;
  /** Documents read per collection per round; default 100. */
  batchSize?: number;
  /** Pause between rounds in ms; default 1000. A full batch is followed at once by the next. */
  intervalMs?: number;
  /**
   * Consecutive publish failures after which a round gives up (Kafka is likely down); default 3.
   * A lone failing event only holds back its own aggregate, so one poison event cannot stall
   * every other aggregate's events.
   */
  maxConsecutiveFailures?: number;
  /**
   * Serialises the relay's writes to an aggregate with the service's own writes to it (same
   * key: the document `_id` as a string); needed on FerretDB, see {@link KeyedMutex}.
   */
  mutex?: KeyedMutex;
  /** The document field whose value keys {@link OutboxRelayOptions.mutex}; `_id` by default. */
  mutexKeyField?: string;
  /** Only the leader replica relays; default always (a single replica). */
  isLeader?: () => boolean;
  metrics: Metrics;
  logger: Logger;
}

/** What one relay round did. */
export interface OutboxRoundResult {
  /** False when the replica was not the leader and did nothing. */
  leader: boolean;
  published: number;
  failed: number;
  /** Unsent events left across the collections after the round. */
  pending: number;
  /** Some collection returned a full batch, so more may be waiting. */
  more: boolean;
}

/** A running (or stoppable) outbox relay. */
export interface OutboxRelay {
  /** Starts the polling loop; a no-op when already started. */
  start(): void;
  /** Stops the loop and waits for the round in flight. */
  stop(): Promise<void>;
  /** Runs one round now (serialised with the loop's rounds); rejects if MongoDB fails. */
  runOnce(): Promise<OutboxRoundResult>;
}

/** An aggregate as the relay reads it. */
type RelayDocument = OutboxDocument & { _id: unknown } & Record<string, unknown>;

/** The message of an error, for logs. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates the outbox relay: reads aggregates with unsent events (oldest first), publishes each
 * aggregate's events in array order and marks each one sent only after its publish resolved.
 * Delivery is at-least-once: a crash between publish and mark publishes the event again.
 */
export function createOutboxRelay<T extends Document = Document>(
  options: OutboxRelayOptions<T>,
): OutboxRelay {
  // The relay only touches the outbox fields, so it works on collections as plain documents.
  const given: readonly Collection<T>[] = Array.isArray(options.collections)
    ? options.collections
    : [options.collections as Collection<T>];
  const collections = given.map((collection) => collection as unknown as Collection);
  const batchSize = options.batchSize ?? 100;
  const intervalMs = options.intervalMs ?? 1_000;
  const maxConsecutiveFailures = options.maxConsecutiveFailures ?? 3;
  const isLeader = options.isLeader ?? (() => true);
  const { logger, metrics } = options;
  const tracer = trace.getTracer('@emporium/platform/outbox');

  const pendingGauge = metrics.gauge({
    name: 'outbox_pending_events',
    help: 'Outbox events not yet published, per aggregate collection (0 on non-leader replicas).',
    labelNames: ['collection'],
  });
  const publishedCounter = metrics.counter({
    name: 'outbox_published_events_total',
    help: 'Outbox events published and marked sent.',
    labelNames: ['collection', 'topic'],
  });
  const failedCounter = metrics.counter({
    name: 'outbox_publish_failures_total',
    help: 'Outbox publish attempts that failed; the event stays pending and is retried.',
    labelNames: ['collection', 'topic'],
  });

  /** Publishes inside the trace of the request that wrote the event. */
  const publishTraced = (event: OutboxEvent): Promise<void> => {
    const parent =
      event.traceparent === undefined
        ? ROOT_CONTEXT
        : propagation.extract(ROOT_CONTEXT, { traceparent: event.traceparent });
    return tracer.startActiveSpan(
      `outbox relay ${event.topic}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'messaging.destination.name': event.topic,
          'messaging.message.id': event.id,
          'cloudevents.event_type': event.type,
        },
      },
      parent,
      async (span) => {
        try {
          await options.publish(event);
        } catch (error) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: SpanStatusCode.ERROR, message: describe(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  };

  /** Unsets `outboxPendingSince` if nothing is pending any more (an append may have raced). */
  const clearIfDrained = async (collection: Collection, id: unknown): Promise<void> => {
    await collection.updateOne({ _id: id, outboxPending: { $lte: 0 } } as Filter<Document>, {
      $unset: { outboxPendingSince: '' },
    });
  };

  interface CollectionRound {
    published: number;
    failed: number;
    gaveUp: boolean;
    full: boolean;
  }

  const keyField = options.mutexKeyField ?? '_id';
  const locked = <R>(doc: RelayDocument, task: () => Promise<R>): Promise<R> =>
    options.mutex ? options.mutex.run(String(doc[keyField]), task) : task();

  const relayCollection = async (
    collection: Collection,
    failureBudget: { consecutive: number },
  ): Promise<CollectionRound> => {
    const name = collection.collectionName;
    const result: CollectionRound = { published: 0, failed: 0, gaveUp: false, full: false };
    const docs = (await collection
      .find({ outboxPendingSince: { $exists: true } } as Filter<Document>, {
        sort: { outboxPendingSince: 1, _id: 1 },
        limit: batchSize,
        projection: { outbox: 1, outboxPending: 1, [keyField]: 1 },
      })
      .toArray()) as RelayDocument[];
    result.full = docs.length === batchSize;

    for (const doc of docs) {
      const outbox: readonly StoredOutboxEvent[] = Array.isArray(doc.outbox) ? doc.outbox : [];
      // Array index → event: entries are only ever appended, so an index stays valid.
      const unsent = outbox.flatMap((event, index) =>
        event.sentAt == null ? [{ event, index }] : [],
      );
      if (unsent.length === 0) {
        // A stale pending marker (e.g. a crash after the last mark): repair it, but only if no
        // append happened since we read the document (an append changes outboxPending).
        const unchanged = { _id: doc._id, outboxPending: doc.outboxPending ?? null };
        await locked(doc, () =>
          collection.updateOne(unchanged as Filter<Document>, {
            $set: { outboxPending: 0 },
            $unset: { outboxPendingSince: '' },
          }),
        );
        continue;
      }
      for (const [position, { event, index }] of unsent.entries()) {
        try {
          await publishTraced(event);
        } catch (error) {
          result.failed += 1;
          failureBudget.consecutive += 1;
          failedCounter.inc({ collection: name, topic: event.topic });
          logger.warn(
            { err: error, eventId: event.id, eventType: event.type, topic: event.topic },
            'outbox publish failed; the event stays pending and is retried next round',
          );
          if (failureBudget.consecutive >= maxConsecutiveFailures) result.gaveUp = true;
          break; // this aggregate's later events must not overtake the failed one
        }
        failureBudget.consecutive = 0;
        const next = unsent[position + 1];
        // Marks by array index: FerretDB 1.24 has neither the positional `$` operator
        // ("Cannot create field '$'") nor arrayFilters ("not implemented yet"), while a numeric
        // path like `outbox.3.sentAt` works everywhere. The filter checks that index 3 still
        // holds this event and is unsent, which keeps outboxPending exact if two relays overlap.
        const marked = await locked(doc, () =>
          collection.updateOne(
            {
              _id: doc._id,
              [`outbox.${String(index)}.id`]: event.id,
              [`outbox.${String(index)}.sentAt`]: null,
            } as Filter<Document>,
            {
              $set: {
                [`outbox.${String(index)}.sentAt`]: new Date(),
                ...(next === undefined ? {} : { outboxPendingSince: eventDate(next.event) }),
              },
              $inc: { outboxPending: -1 },
            },
          ),
        );
        result.published += 1;
        publishedCounter.inc({ collection: name, topic: event.topic });
        if (marked.matchedCount === 0) {
          logger.debug({ eventId: event.id }, 'outbox event was already marked sent');
        }
        if (next === undefined) await locked(doc, () => clearIfDrained(collection, doc._id));
      }
      if (result.gaveUp) break;
    }
    return result;
  };

  /** Sums the pending counts; `$group` works on FerretDB where `$expr` would not. */
  const countPending = async (collection: Collection): Promise<number> => {
    const [row] = await collection
      .aggregate<{ pending: number }>([
        { $match: { outboxPendingSince: { $exists: true } } },
        { $group: { _id: null, pending: { $sum: '$outboxPending' } } },
      ])
      .toArray();
    return row?.pending ?? 0;
  };

  const round = async (): Promise<OutboxRoundResult> => {
    const result: OutboxRoundResult = {
      leader: isLeader(),
      published: 0,
      failed: 0,
      pending: 0,
      more: false,
    };
    if (!result.leader) {
      // Zero, not stale numbers: a sum over replicas then counts only the leader's view.
      for (const collection of collections)
        pendingGauge.set({ collection: collection.collectionName }, 0);
      return result;
    }
    const failureBudget = { consecutive: 0 };
    for (const collection of collections) {
      const done = await relayCollection(collection, failureBudget);
      result.published += done.published;
      result.failed += done.failed;
      result.more ||= done.full;
      if (done.gaveUp) break;
    }
    for (const collection of collections) {
      const pending = await countPending(collection);
      pendingGauge.set({ collection: collection.collectionName }, pending);
      result.pending += pending;
    }
    return result;
  };

  let chain: Promise<unknown> = Promise.resolve();
  const runOnce = (): Promise<OutboxRoundResult> => {
    const run = chain.then(round);
    chain = run.catch(() => undefined);
    return run;
  };

  let running = false;
  let ticking = false;
  let timer: NodeJS.Timeout | undefined;

  const scheduled = (): boolean => timer !== undefined;

  const schedule = (delayMs: number): void => {
    timer = setTimeout(() => {
      void tick();
    }, delayMs);
    // The relay alone must not keep a process alive that is otherwise done.
    timer.unref();
  };

  const tick = async (): Promise<void> => {
    timer = undefined;
    ticking = true;
    let delay = intervalMs;
    try {
      const result = await runOnce();
      if (result.more && result.failed === 0) delay = 0;
    } catch (error) {
      // MongoDB trouble: log and try again next interval; the loop never dies.
      logger.error({ err: error }, 'outbox relay round failed');
    }
    ticking = false;
    if (running && !scheduled()) schedule(delay);
  };

  return {
    start: () => {
      if (running) return;
      running = true;
      // A round still finishing from before a stop() reschedules itself when it ends.
      if (!ticking && !scheduled()) schedule(0);
    },
    stop: async () => {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await chain;
    },
    runOnce,
  };
}
