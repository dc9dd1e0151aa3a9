import type { KeyedMutex } from './keyed-mutex.js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import type { Collection, Document, Filter } from 'mongodb';
import type { Logger } from 'pino';
import type { Metrics } from '../telemetry/metrics.js';
import {
  onOutboxCommit,
  outboxEventDate as eventDate,
  outboxNamespace,
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
  /** Documents read per collection per scan; default 100. */
  batchSize?: number;
  /**
   * Pause between two scans for unsent events, in ms; default 5000. Events this process writes
   * are published as soon as their write is acknowledged (the writes wake the relay, which reads
   * the document by `_id`), so the scan is only the safety net for the rest: events written by
   * another replica, left by a crash, or whose publish failed. A full batch is followed at once
   * by the next scan. On FerretDB the scan reads the whole collection, hence the long default.
   */
  intervalMs?: number;
  /** After a failed publish, how long a woken document waits before it is tried again, in ms. */
  retryDelayMs?: number;
  /**
   * Consecutive publish failures after which a round gives up (Kafka is likely down); default 3.
   * A lone failing event only holds back its own aggregate, so one poison event cannot stall
   * every other aggregate's events.
   */
  maxConsecutiveFailures?: number;
  /**
   * Tells a publish error that no retry can cure (the event breaks its topic's schema, names no
   * known topic) from one that may pass later (Kafka down). Such a poison event is moved to the
   * document's `outboxDead` with its error, counted and logged, and the aggregate's later events
   * go on; without this every error is retried.
   */
  isPoison?: (error: unknown) => boolean;
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
  /** Poison events moved to `outboxDead` in this round. */
  dead: number;
  /** Unsent events left across the collections after the round. */
  pending: number;
  /** Some collection returned a full batch, so more may be waiting. */
  more: boolean;
}

/** A running (or stoppable) outbox relay. */
export interface OutboxRelay {
  /** Starts relaying (woken by this process's outbox writes, scanning as a safety net). */
  start(): void;
  /** Stops the loop and waits for the round in flight. */
  stop(): Promise<void>;
  /** Runs one scan round now (serialised with the other rounds); rejects if MongoDB fails. */
  runOnce(): Promise<OutboxRoundResult>;
}

/** A poison event as kept in the document's `outboxDead`: the event, why, and when. */
export interface DeadOutboxEvent extends OutboxEvent {
  error: string;
  deadAt: Date;
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
  const intervalMs = options.intervalMs ?? 5_000;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const maxConsecutiveFailures = options.maxConsecutiveFailures ?? 3;
  const isLeader = options.isLeader ?? (() => true);
  const { logger, metrics } = options;
  const tracer = trace.getTracer('@emporium/platform/outbox');

  const pendingGauge = metrics.gauge({
    name: 'outbox_pending_events',
    help: 'Outbox events not yet published, per aggregate collection (0 on non-leader replicas).',
    labelNames: ['collection'],
  });
  const oldestGauge = metrics.gauge({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest unpublished outbox event at the last scan, per aggregate collection, in seconds (0 when none, and on non-leader replicas).',
    labelNames: ['collection'],
  });
  const publishedCounter = metrics.counter({
    name: 'outbox_published_events_total',
    help: 'Outbox events published and marked sent.',
    labelNames: ['collection', 'messaging_destination_name'],
  });
  const deadCounter = metrics.counter({
    name: 'outbox_dead_events_total',
    help: "Outbox events that can never be published, moved to the document's outboxDead.",
    labelNames: ['collection', 'messaging_destination_name'],
  });
  const failedCounter = metrics.counter({
    name: 'outbox_publish_failures_total',
    help: 'Outbox publish attempts that failed; the event stays pending and is retried.',
    labelNames: ['collection', 'messaging_destination_name'],
  });

  /**
   * Publishes inside the trace of the request that wrote the event: its traceparent and
   * tracestate restored as the parent of the relay's span, which is active while `publish`
   * runs, so the producer's `send` span is the relay span's child.
   */
  const publishTraced = (event: OutboxEvent): Promise<void> => {
    const parent =
      event.traceparent === undefined
        ? ROOT_CONTEXT
        : propagation.extract(ROOT_CONTEXT, {
            traceparent: event.traceparent,
            ...(event.tracestate === undefined ? {} : { tracestate: event.tracestate }),
          });
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

  /** What relaying one document came to. */
  interface DocumentRound {
    published: number;
    failed: number;
    dead: number;
  }

  const keyField = options.mutexKeyField ?? '_id';
  const projection = { outbox: 1, outboxPending: 1, [keyField]: 1 };
  const locked = <R>(doc: RelayDocument, task: () => Promise<R>): Promise<R> =>
    options.mutex ? options.mutex.run(String(doc[keyField]), task) : task();

  /**
   * Removes the event just published from the document: `$pop` of the first entry, checked by
   * its id so an overlapping relay cannot remove the wrong one. Entries of earlier versions
   * that were marked `sentAt` instead stay before it, so such an event is marked the old way.
   * FerretDB 1.24 has neither the positional `$` operator nor arrayFilters, while numeric
   * paths like `outbox.3.id` work everywhere. False when the document changed underneath.
   */
  const markSent = async (
    collection: Collection,
    doc: RelayDocument,
    event: StoredOutboxEvent,
    at: number,
    next: StoredOutboxEvent | undefined,
    dead?: DeadOutboxEvent,
  ): Promise<boolean> => {
    const since = next === undefined ? {} : { outboxPendingSince: eventDate(next) };
    // A poison event leaves the outbox the same way, into `outboxDead` in the same write.
    const bury: Document = dead === undefined ? {} : { $push: { outboxDead: dead } };
    if (at > 0) {
      const marked = await collection.updateOne(
        {
          _id: doc._id,
          [`outbox.${String(at)}.id`]: event.id,
          [`outbox.${String(at)}.sentAt`]: null,
        } as Filter<Document>,
        {
          $set: { [`outbox.${String(at)}.sentAt`]: new Date(), ...since },
          $inc: { outboxPending: -1 },
          ...bury,
        },
      );
      if (marked.matchedCount === 1 && next === undefined)
        await clearIfDrained(collection, doc._id);
      return marked.matchedCount === 1;
    }
    const filter = { _id: doc._id, 'outbox.0.id': event.id };
    if (next === undefined) {
      // The last one, as far as we read: drop the pending marker in the same write, unless an
      // append raced in (then outboxPending is above 1 and the plain pop below runs).
      const last = await collection.updateOne({ ...filter, outboxPending: 1 } as Filter<Document>, {
        $pop: { outbox: -1 },
        $inc: { outboxPending: -1 },
        $unset: { outboxPendingSince: '' },
        ...bury,
      });
      if (last.matchedCount === 1) return true;
    }
    const popped = await collection.updateOne(filter as Filter<Document>, {
      $pop: { outbox: -1 },
      $inc: { outboxPending: -1 },
      ...(next === undefined ? {} : { $set: since }),
      ...bury,
    });
    if (popped.matchedCount === 1 && next === undefined) await clearIfDrained(collection, doc._id);
    return popped.matchedCount === 1;
  };

  /** Publishes one document's unsent events in array order, each removed once published. */
  const relayDocument = async (
    collection: Collection,
    doc: RelayDocument,
    failureBudget: { consecutive: number },
  ): Promise<DocumentRound> => {
    const name = collection.collectionName;
    const result: DocumentRound = { published: 0, failed: 0, dead: 0 };
    const outbox: readonly StoredOutboxEvent[] = Array.isArray(doc.outbox) ? doc.outbox : [];
    // Array index → event: entries are only appended at the end and popped from the front.
    const unsent = outbox.flatMap((event, index) =>
      event.sentAt == null ? [{ event, index }] : [],
    );
    if (unsent.length === 0) {
      if (doc.outboxPending === 0 && doc.outboxPendingSince === undefined) return result;
      // A stale pending marker (e.g. a crash after the last mark): repair it, but only if no
      // append happened since we read the document (an append changes outboxPending).
      const unchanged = { _id: doc._id, outboxPending: doc.outboxPending ?? null };
      await locked(doc, () =>
        collection.updateOne(unchanged as Filter<Document>, {
          $set: { outboxPending: 0 },
          $unset: { outboxPendingSince: '' },
        }),
      );
      return result;
    }
    let removed = 0;
    for (const [position, { event, index }] of unsent.entries()) {
      let dead: DeadOutboxEvent | undefined;
      try {
        await publishTraced(event);
      } catch (error) {
        if (options.isPoison?.(error) !== true) {
          result.failed += 1;
          failureBudget.consecutive += 1;
          failedCounter.inc({ collection: name, messaging_destination_name: event.topic });
          logger.warn(
            { err: error, eventId: event.id, eventType: event.type, topic: event.topic },
            'outbox publish failed; the event stays pending and is retried',
          );
          break; // this aggregate's later events must not overtake the failed one
        }
        dead = { ...event, error: describe(error), deadAt: new Date() };
      }
      const at = index - removed;
      const next = unsent[position + 1]?.event;
      const marked = await locked(doc, () => markSent(collection, doc, event, at, next, dead));
      if (dead) {
        result.dead += 1;
        deadCounter.inc({ collection: name, messaging_destination_name: event.topic });
        logger.error(
          { eventId: event.id, eventType: event.type, topic: event.topic, reason: dead.error },
          'outbox event can never be published; moved to outboxDead',
        );
      } else {
        failureBudget.consecutive = 0;
        result.published += 1;
        publishedCounter.inc({ collection: name, messaging_destination_name: event.topic });
      }
      if (!marked) {
        // Another relay (a leader handover) got there first: read the document afresh later.
        logger.debug({ eventId: event.id }, 'outbox event was already removed');
        break;
      }
      if (at === 0) removed += 1;
    }
    return result;
  };

  interface CollectionRound extends DocumentRound {
    gaveUp: boolean;
    full: boolean;
    /** Unsent events in the documents read, when they were all there were (not `full`). */
    pending: number;
    /** When the oldest event still unsent after the round was written, if one was read. */
    oldest?: Date;
  }

  /** The safety-net scan: documents with unsent events, oldest pending first. */
  const scanCollection = async (
    collection: Collection,
    failureBudget: { consecutive: number },
  ): Promise<CollectionRound> => {
    const result: CollectionRound = {
      dead: 0,
      published: 0,
      failed: 0,
      gaveUp: false,
      full: false,
      pending: 0,
    };
    const docs = (await collection
      .find({ outboxPendingSince: { $exists: true } } as Filter<Document>, {
        sort: { outboxPendingSince: 1, _id: 1 },
        limit: batchSize,
        projection: { ...projection, outboxPendingSince: 1 },
      })
      .toArray()) as RelayDocument[];
    result.full = docs.length === batchSize;
    for (const doc of docs) {
      const done = await relayDocument(collection, doc, failureBudget);
      result.published += done.published;
      result.failed += done.failed;
      result.dead += done.dead;
      const left = Math.max(0, (doc.outboxPending ?? 0) - done.published - done.dead);
      result.pending += left;
      // Read oldest first, so the first document still pending holds the oldest event.
      if (left > 0 && result.oldest === undefined) result.oldest = doc.outboxPendingSince;
      if (failureBudget.consecutive >= maxConsecutiveFailures) {
        result.gaveUp = true;
        break;
      }
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

  /** `outboxPendingSince` of the document waiting longest, read when the scan did not see all. */
  const findOldest = async (collection: Collection): Promise<Date | undefined> => {
    const doc = (await collection.findOne(
      { outboxPendingSince: { $exists: true } } as Filter<Document>,
      {
        sort: { outboxPendingSince: 1 },
        projection: { outboxPendingSince: 1 },
      },
    )) as RelayDocument | null;
    return doc?.outboxPendingSince;
  };

  const scan = async (): Promise<OutboxRoundResult> => {
    const result: OutboxRoundResult = {
      leader: isLeader(),
      published: 0,
      failed: 0,
      dead: 0,
      pending: 0,
      more: false,
    };
    if (!result.leader) {
      // Zero, not stale numbers: a sum over replicas then counts only the leader's view.
      for (const collection of collections) {
        pendingGauge.set({ collection: collection.collectionName }, 0);
        oldestGauge.set({ collection: collection.collectionName }, 0);
      }
      return result;
    }
    const failureBudget = { consecutive: 0 };
    const rounds = new Map<Collection, CollectionRound>();
    for (const collection of collections) {
      const done = await scanCollection(collection, failureBudget);
      rounds.set(collection, done);
      result.published += done.published;
      result.failed += done.failed;
      result.dead += done.dead;
      result.more ||= done.full;
      if (done.gaveUp) break;
    }
    for (const collection of collections) {
      const done = rounds.get(collection);
      // The scan already saw every pending document unless it stopped early or was full;
      // only then is the (on FerretDB, whole-collection) count worth another read.
      const sawAll = done !== undefined && !done.full && !done.gaveUp;
      const pending = sawAll ? done.pending : await countPending(collection);
      pendingGauge.set({ collection: collection.collectionName }, pending);
      const oldest = sawAll ? done.oldest : await findOldest(collection);
      const age = oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest.getTime()) / 1000);
      oldestGauge.set({ collection: collection.collectionName }, age);
      result.pending += pending;
    }
    return result;
  };

  /** Documents woken by this process's writes, by namespace, keyed by their `_id` as text. */
  const due = new Map<string, Map<string, unknown>>();
  /** Woken documents whose publish failed, tried again at {@link retryAt}. */
  const later = new Map<string, Map<string, unknown>>();
  let retryAt = Number.POSITIVE_INFINITY;
  const byNamespace = new Map(collections.map((c) => [outboxNamespace(c), c]));
  const idsOf = (
    map: Map<string, Map<string, unknown>>,
    namespace: string,
  ): Map<string, unknown> => {
    let ids = map.get(namespace);
    if (!ids) {
      ids = new Map<string, unknown>();
      map.set(namespace, ids);
    }
    return ids;
  };
  const hasIds = (map: Map<string, Map<string, unknown>>): boolean =>
    [...map.values()].some((ids) => ids.size > 0);

  /** Relays the woken documents, each read by `_id` (cheap on every server, FerretDB too). */
  const wokenRound = async (): Promise<void> => {
    if (!isLeader()) {
      // The leader's scan finds them.
      due.clear();
      later.clear();
      return;
    }
    const failureBudget = { consecutive: 0 };
    for (const [namespace, ids] of [...due.entries()]) {
      const collection = byNamespace.get(namespace);
      due.delete(namespace);
      if (!collection) continue;
      for (const [key, id] of ids) {
        if (failureBudget.consecutive >= maxConsecutiveFailures) {
          idsOf(later, namespace).set(key, id);
          continue;
        }
        const doc = (await collection.findOne({ _id: id } as Filter<Document>, {
          projection: { ...projection, outboxPendingSince: 1 },
        })) as RelayDocument | null;
        if (!doc) continue;
        const done = await relayDocument(collection, doc, failureBudget);
        if (done.failed > 0) idsOf(later, namespace).set(key, id);
      }
    }
    if (hasIds(later) && retryAt === Number.POSITIVE_INFINITY) retryAt = Date.now() + retryDelayMs;
  };

  let chain: Promise<unknown> = Promise.resolve();
  /** Serialises every round: one aggregate's events never go out from two rounds at once. */
  const serialised = <R>(task: () => Promise<R>): Promise<R> => {
    const run = chain.then(task);
    chain = run.catch(() => undefined);
    return run;
  };
  const runOnce = (): Promise<OutboxRoundResult> =>
    serialised(async () => {
      // A scan covers the woken documents too.
      due.clear();
      later.clear();
      retryAt = Number.POSITIVE_INFINITY;
      return scan();
    });

  let running = false;
  let ticking = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let nextScanAt = 0;
  let unsubscribe: (() => void) | undefined;

  /** (Re)arms the timer for the earliest work: woken documents, retries or the next scan. */
  const arm = (): void => {
    if (!running || ticking) return;
    const now = Date.now();
    const at = hasIds(due) ? now : Math.min(nextScanAt, hasIds(later) ? retryAt : nextScanAt);
    if (timer !== undefined && timerAt <= at) return;
    if (timer !== undefined) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(
      () => {
        void tick();
      },
      Math.max(0, at - now),
    );
    // The relay alone must not keep a process alive that is otherwise done.
    timer.unref();
  };

  const tick = async (): Promise<void> => {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    ticking = true;
    try {
      const now = Date.now();
      if (now >= retryAt) {
        for (const [namespace, ids] of later)
          for (const [key, id] of ids) idsOf(due, namespace).set(key, id);
        later.clear();
        retryAt = Number.POSITIVE_INFINITY;
      }
      if (now >= nextScanAt) {
        const result = await runOnce();
        nextScanAt = Date.now() + (result.more && result.failed === 0 ? 0 : intervalMs);
      } else if (hasIds(due)) {
        await serialised(wokenRound);
      }
    } catch (error) {
      // MongoDB trouble: log and try again at the next scan; the loop never dies.
      logger.error({ err: error }, 'outbox relay round failed');
      nextScanAt = Math.min(nextScanAt, Date.now() + retryDelayMs);
    }
    ticking = false;
    arm();
  };

  return {
    start: () => {
      if (running) return;
      running = true;
      unsubscribe = onOutboxCommit(({ namespace, id }) => {
        if (!running || !byNamespace.has(namespace)) return;
        idsOf(due, namespace).set(String(id), id);
        arm();
      });
      nextScanAt = 0;
      // A round still finishing from before a stop() re-arms the timer when it ends.
      arm();
    },
    stop: async () => {
      running = false;
      unsubscribe?.();
      unsubscribe = undefined;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      await chain;
    },
    runOnce,
  };
}
