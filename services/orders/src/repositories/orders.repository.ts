import { OrderCancelled, OrderPlaced, ordersTopic } from '@emporium/contracts';
import {
  buildOutboxEvent,
  ensureOutboxIndexes,
  insertWithOutbox,
  updateWithOutbox,
  withMongoUnavailable,
  type OutboxDocument,
  type OutboxEvent,
} from '@emporium/platform';
import { MongoServerError, type Collection, type Db, type UpdateFilter } from 'mongodb';
import type { Order, OrderState } from '../domain/order.js';

/** MongoDB's (and FerretDB's) code for a unique index violation. */
const DUPLICATE_KEY = 11000;

/** An order as stored: its state, version, parked shipment and embedded outbox. */
export type OrderDocument = OrderState & Partial<OutboxDocument>;

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
export function ordersRepository(db: Db): OrdersRepository {
  const collection = db.collection<OrderDocument>('orders');
  return {
    collection,
    ensureIndexes: async () => {
      await collection.createIndex({ orderId: 1 }, { unique: true, name: 'order_unique' });
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
          await insertWithOutbox(collection, { ...order }, [event]);
          return 'created';
        } catch (error) {
          if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return 'exists';
          throw error;
        }
      }),
    findById: (orderId) =>
      withMongoUnavailable(() => collection.findOne({ orderId }, { projection: API_PROJECTION })),
    findForUpdate: (orderId) =>
      withMongoUnavailable(async () => {
        const doc = await collection.findOne({ orderId }, { projection: STATE_PROJECTION });
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
        const result = await updateWithOutbox(
          collection,
          { orderId: previous.orderId },
          update,
          cancelling ? [cancelledEvent(next)] : [],
          { expectedVersion: previous.version },
        );
        return result.matchedCount === 1;
      }),
  };
}
