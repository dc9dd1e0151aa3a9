import { randomUUID } from 'node:crypto';
import { context as otelContext, propagation, type Context } from '@opentelemetry/api';
import type {
  ClientSession,
  Collection,
  Document,
  Filter,
  InsertOneResult,
  OptionalUnlessRequiredId,
  UpdateFilter,
  UpdateResult,
} from 'mongodb';

/**
 * The transactional outbox embedded in the aggregate document (DESIGN.md "Reliability rules"):
 * the state change and the events it causes land in ONE document write, atomic on MongoDB,
 * DocumentDB and FerretDB alike, with no multi-document transaction.
 *
 * Beside the `outbox` array the document keeps two scalar fields that the relay queries:
 * `outboxPending` (how many events are unsent) and `outboxPendingSince` (time of the oldest
 * unsent event, absent when none is). The relay removes an event from the array once it is
 * published (so a document holds only what is still to send, and does not grow with every
 * update), and the writes below wake the relay of this process ({@link onOutboxCommit}), so it
 * finds new events by `_id` rather than by scanning. The two scalar fields exist for the scan
 * that remains as a safety net, and because FerretDB 1.24 cannot find unsent array
 * elements itself: `$elemMatch` with `$exists: false` or `null` matches nothing there, `$expr`
 * is not implemented, partial indexes are not implemented, and a sort on an array path does not
 * use MongoDB's min-element rule. A scalar field with a plain index works on all three servers.
 */

/** One event waiting in (or sent from) an aggregate's outbox. */
export interface OutboxEvent {
  /** Unique event id (a UUID); the CloudEvents `id` consumers deduplicate on. */
  id: string;
  /** Kafka topic, e.g. `orders.v1`. */
  topic: string;
  /** CloudEvents `type`, e.g. `OrderPlaced`. */
  type: string;
  /** Kafka message key: the aggregate id, so one aggregate's events stay in order. */
  key: string;
  /** The event payload, already validated against its contract. */
  data: unknown;
  /** ISO 8601 time the event happened. */
  time: string;
  /** W3C traceparent of the request that caused it, so the relay continues that trace. */
  traceparent?: string;
  /** W3C tracestate that went with {@link OutboxEvent.traceparent}, restored with it. */
  tracestate?: string;
}

/**
 * An outbox entry as stored. Published entries are removed; `sentAt` is only found on entries
 * written by earlier versions, which marked them instead.
 */
export interface StoredOutboxEvent extends OutboxEvent {
  /** Absent (or null) until published. */
  sentAt?: Date | null;
}

/** The fields the outbox adds to an aggregate document. */
export interface OutboxDocument {
  outbox?: StoredOutboxEvent[];
  /** Number of entries of `outbox` without `sentAt`. */
  outboxPending?: number;
  /** Time of the oldest unsent entry; absent when everything is sent. */
  outboxPendingSince?: Date;
}

/** What a caller gives {@link buildOutboxEvent}; id, time and the trace context are filled in. */
export interface NewOutboxEvent {
  topic: string;
  type: string;
  key: string;
  data: unknown;
  /** Defaults to a random UUID. */
  id?: string;
  /** Defaults to now. */
  time?: Date;
  /** The context whose span becomes the traceparent; defaults to the active one. */
  context?: Context;
}

/**
 * Builds an outbox event, capturing the active span's W3C trace context (traceparent and, when
 * the context carries one, tracestate) through the global propagator.
 */
export function buildOutboxEvent(input: NewOutboxEvent): OutboxEvent {
  const carrier: Record<string, string> = {};
  propagation.inject(input.context ?? otelContext.active(), carrier);
  const { traceparent, tracestate } = carrier;
  return {
    id: input.id ?? randomUUID(),
    topic: input.topic,
    type: input.type,
    key: input.key,
    data: input.data,
    time: (input.time ?? new Date()).toISOString(),
    // Absent rather than undefined: the driver would store undefined as null.
    ...(traceparent === undefined ? {} : { traceparent }),
    ...(traceparent === undefined || !tracestate ? {} : { tracestate }),
  };
}

/** The time an event happened as a Date, for `outboxPendingSince`. */
export function outboxEventDate(event: OutboxEvent): Date {
  const date = new Date(event.time);
  // A malformed time must not poison the relay's sort order; treat it as "now".
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

/** The outbox fields of a new aggregate that starts with these events. */
export function outboxFields(events: readonly OutboxEvent[]): OutboxDocument {
  const first = events[0];
  return {
    outbox: [...events],
    outboxPending: events.length,
    ...(first === undefined ? {} : { outboxPendingSince: outboxEventDate(first) }),
  };
}

/** Called after a write that added events to an aggregate's outbox has been acknowledged. */
export type OutboxCommitListener = (commit: OutboxCommit) => void;

/** An acknowledged outbox write: where, and which document (its `_id`). */
export interface OutboxCommit {
  /** `<database>.<collection>`. */
  namespace: string;
  /** The `_id` of the written document. */
  id: unknown;
}

// Process-wide, because the writers (repositories) and the relay of a service meet nowhere
// else; a relay only acts on the namespaces it drains, so a stray commit costs one lookup.
const commitListeners = new Set<OutboxCommitListener>();

/**
 * Subscribes to acknowledged outbox writes of this process (the relay's wake-up, so it needs
 * no polling for them); returns the unsubscribe function.
 */
export function onOutboxCommit(listener: OutboxCommitListener): () => void {
  commitListeners.add(listener);
  return () => {
    commitListeners.delete(listener);
  };
}

/** `<database>.<collection>`, the key of {@link OutboxCommit.namespace}. */
export function outboxNamespace(collection: Collection): string {
  return `${collection.dbName}.${collection.collectionName}`;
}

/** Tells the listeners that `id` in `collection` has new events. */
function announce(collection: Collection, id: unknown): void {
  if (id === undefined) return;
  const commit = { namespace: outboxNamespace(collection), id };
  for (const listener of commitListeners) listener(commit);
}

/** Options of the outbox writes. */
export interface OutboxWriteOptions {
  session?: ClientSession;
}

/**
 * Inserts a new aggregate together with its outbox in one `insertOne`; `doc` must not carry
 * outbox fields of its own.
 */
export async function insertWithOutbox<T extends Document>(
  collection: Collection<T>,
  doc: OptionalUnlessRequiredId<T>,
  events: readonly OutboxEvent[],
  options: OutboxWriteOptions = {},
): Promise<InsertOneResult<T>> {
  const withOutbox = { ...doc, ...outboxFields(events) } as OptionalUnlessRequiredId<T>;
  const result = await collection.insertOne(
    withOutbox,
    options.session ? { session: options.session } : {},
  );
  // Within a transaction the events are not visible until the commit: the relay's scan finds them.
  if (events.length > 0 && !options.session)
    announce(collection as unknown as Collection, result.insertedId);
  return result;
}

/** Options of {@link updateWithOutbox}. */
export interface OutboxUpdateOptions extends OutboxWriteOptions {
  /**
   * Optimistic concurrency: the update only applies while the version field still holds this
   * value, and it increments the field. A result with `matchedCount: 0` is then a conflict.
   */
  expectedVersion?: number;
  /** The version field; default `version`. */
  versionField?: string;
}

/** Merges one operator's fields into an update document. */
function mergeOperator(update: Document, operator: string, fields: Document): void {
  const existing: unknown = update[operator];
  update[operator] = { ...(existing as Document | undefined), ...fields };
}

/**
 * Changes an aggregate's state and appends events to its outbox in one `updateOne`: the
 * caller's `$set` etc. plus a `$push` of the events, an `$inc` of the pending count and a
 * `$min` of the pending-since time (which also sets it when absent).
 */
export async function updateWithOutbox<T extends Document>(
  collection: Collection<T>,
  filter: Filter<T>,
  update: UpdateFilter<T>,
  events: readonly OutboxEvent[],
  options: OutboxUpdateOptions = {},
): Promise<UpdateResult<T>> {
  const versionField = options.versionField ?? 'version';
  const fullFilter: Document = { ...filter };
  const fullUpdate: Document = { ...update };
  if (options.expectedVersion !== undefined) {
    fullFilter[versionField] = options.expectedVersion;
    mergeOperator(fullUpdate, '$inc', { [versionField]: 1 });
  }
  const first = events[0];
  if (first !== undefined) {
    // $push with $each appends in array order, which is the order the relay publishes in.
    mergeOperator(fullUpdate, '$push', { outbox: { $each: [...events] } });
    mergeOperator(fullUpdate, '$inc', { outboxPending: events.length });
    // $min keeps an older pending time and sets the field when nothing was pending.
    mergeOperator(fullUpdate, '$min', { outboxPendingSince: outboxEventDate(first) });
  }
  const result = await collection.updateOne(
    fullFilter as Filter<T>,
    fullUpdate,
    options.session ? { session: options.session } : {},
  );
  // Only a filter on `_id` names the document; other writes wait for the relay's scan.
  if (events.length > 0 && !options.session && result.modifiedCount > 0)
    announce(collection as unknown as Collection, (filter as Document)._id);
  return result;
}

/** The index the relay's query and sort use. */
export const OUTBOX_INDEX_NAME = 'outbox_pending_since';

/**
 * Creates the relay's index. Sparse, so it only holds documents with unsent events where the
 * server honours that (MongoDB, DocumentDB); FerretDB 1.24 accepts the option but keeps every
 * document, which is still correct.
 */
export async function ensureOutboxIndexes<T extends Document>(
  collection: Collection<T>,
): Promise<void> {
  await collection.createIndex(
    { outboxPendingSince: 1 },
    { name: OUTBOX_INDEX_NAME, sparse: true },
  );
}
