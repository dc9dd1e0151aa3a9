import { OrderCancelled, OrderPlaced, ordersTopic } from '@emporium/contracts';
import {
  buildOutboxEvent,
  createKeyedMutex,
  ensureOutboxIndexes,
  insertWithOutbox,
  updateWithOutbox,
  withMongoUnavailable,
  type KeyedMutex,
  type OutboxDocument,
  type OutboxEvent,
} from '@emporium/platform';
import { MongoServerError, type Collection, type Db, type UpdateFilter } from 'mongodb';
import type { Order, OrderState } from '../domain/order.js';

/** MongoDB's (and FerretDB's) code for a unique index violation. */
const DUPLICATE_KEY = 11000;

/**
 * An order as stored: its state, version, parked shipment and embedded outbox, under `_id` =
 * the order id. Every read and write names the `_id`, the one key every server answers from an
 * index (FerretDB 1.24 on SQLite pushes down nothing else, so any other filter reads the whole
 * collection, and the cost of an order would grow with every order ever placed).
 */
export type OrderDocument = OrderState & Partial<OutboxDocument> & { _id: string };

/** What the API never shows: storage ids, concurrency and saga bookkeeping, the outbox. */
const API_PROJECTION = {
  _id: 0,
  version: 0,
  parkedShipment: 0,
  outbox: 0,
  outboxPending: 0,
  outboxPendingSince: 0,
} as const;

/** What a state change reads: the order, its version, its parked shipment, the relay marker. */
const STATE_PROJECTION = { _id: 0, outbox: 0, outboxPending: 0 } as const;

/** Orders in MongoDB, one document per order id, each with its own outbox. */
export interface OrdersRepository {
  readonly collection: Collection<OrderDocument>;
  /** Serialises this process's writes to one order, the outbox relay's included. */
  readonly mutex: KeyedMutex;
  ensureIndexes(): Promise<void>;
  /**
   * Stores a new order together with its OrderPlaced event in one write; `exists` when an
   * order with its id is already stored (a repeated Idempotency-Key), which is left as it was.
   */
  create(order: OrderState): Promise<'created' | 'exists'>;
  /** The order as the API shows it. */
  findById(orderId: string): Promise<Order | null>;
  /**
   * The order with its version, for a state change, and whether the outbox relay still has
   * events of it to publish (and so may still write to the document).
   */
  findForUpdate(orderId: string): Promise<{ order: OrderState; relaying: boolean } | null>;
  /** The user's orders, newest first. */
  listByUser(userId: string, limit: number): Promise<Order[]>;
  /**
   * Stores `next` only while the order is still at `previous.version` (false when another
   * change won the race); a cancellation appends OrderCancelled in the same `updateOne`.
   */
  save(previous: OrderState, next: Omit<OrderState, 'version'>): Promise<boolean>;
}

/** The OrderCancelled event of an order that was just cancelled. */
function cancelledEvent(order: Omit<OrderState, 'version'>): OutboxEvent {
  return buildOutboxEvent({
    topic: ordersTopic.name,
    type: OrderCancelled.type,
    key: order.orderId,
    data: {
      orderId: order.orderId,
      userId: order.userId,
      reason: order.cancelReason ?? 'cancelled',
      // Inventory releases exactly what was reserved for these lines.
      lines: order.lines.map(({ sku, quantity }) => ({ sku, quantity })),
      cancelledAt: order.updatedAt,
    },
  });
}

/** Creates the repository over `<db>.orders`. */
export function ordersRepository(
  db: Db,
  options: {
    /**
     * Shared with the outbox relay: FerretDB 1.24 rewrites the whole document on every update
     * without a lock, so a relay removing a sent event and a state change racing on one order
     * would lose one of the two writes (see KeyedMutex).
     */
    mutex?: KeyedMutex;
  } = {},
): OrdersRepository {
  const collection = db.collection<OrderDocument>('orders');
  const mutex = options.mutex ?? createKeyedMutex();
  return {
    collection,
    mutex,
    ensureIndexes: async () => {
      // The order id is the `_id`, unique already. The user's list is the one query by another
      // field: an index on MongoDB and DocumentDB, a scan on FerretDB (off the order's path).
      await collection.createIndex({ userId: 1, createdAt: -1 }, { name: 'user_newest_first' });
      await ensureOutboxIndexes(collection);
    },
    create: (order) =>
      withMongoUnavailable(async () => {
        const event = buildOutboxEvent({
          topic: ordersTopic.name,
          type: OrderPlaced.type,
          key: order.orderId,
          data: {
            orderId: order.orderId,
            userId: order.userId,
            lines: order.lines,
            totalMinor: order.totalMinor,
            currency: order.currency,
            placedAt: order.createdAt,
          },
        });
        try {
          await insertWithOutbox(collection, { _id: order.orderId, ...order }, [event]);
          return 'created';
        } catch (error) {
          if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return 'exists';
          throw error;
        }
      }),
    findById: (orderId) =>
      withMongoUnavailable(() =>
        collection.findOne({ _id: orderId }, { projection: API_PROJECTION }),
      ),
    findForUpdate: (orderId) =>
      withMongoUnavailable(async () => {
        const doc = await collection.findOne({ _id: orderId }, { projection: STATE_PROJECTION });
        if (!doc) return null;
        const { outboxPendingSince, ...order } = doc;
        return { order, relaying: outboxPendingSince != null };
      }),
    listByUser: (userId, limit) =>
      withMongoUnavailable(() =>
        collection
          .find(
            { userId },
            { sort: { createdAt: -1, orderId: -1 }, limit, projection: API_PROJECTION },
          )
          .toArray(),
      ),
    save: (previous, next) =>
      withMongoUnavailable(async () => {
        const update: UpdateFilter<OrderDocument> = {
          $set: {
            status: next.status,
            updatedAt: next.updatedAt,
            history: next.history,
            ...(next.trackingId === undefined ? {} : { trackingId: next.trackingId }),
            ...(next.cancelReason === undefined ? {} : { cancelReason: next.cancelReason }),
            ...(next.parkedShipment === undefined ? {} : { parkedShipment: next.parkedShipment }),
          },
          ...(previous.parkedShipment !== undefined && next.parkedShipment === undefined
            ? { $unset: { parkedShipment: '' } }
            : {}),
        };
        const cancelling = next.status === 'CANCELLED' && previous.status !== 'CANCELLED';
        const result = await mutex.run(previous.orderId, () =>
          updateWithOutbox(
            collection,
            { _id: previous.orderId },
            update,
            cancelling ? [cancelledEvent(next)] : [],
            { expectedVersion: previous.version },
          ),
        );
        return result.matchedCount === 1;
      }),
  };
}
