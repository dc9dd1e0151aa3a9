import { ShipmentDispatched, shipmentsTopic } from '@emporium/contracts';
import {
  buildOutboxEvent,
  ensureOutboxIndexes,
  insertWithOutbox,
  withMongoUnavailable,
  type OutboxDocument,
} from '@emporium/platform';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import type { Shipment } from '../domain/shipment.js';

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/**
 * A shipment as stored: `_id` is the order id, the natural key, so every read and write goes
 * through the `_id` index (FerretDB 1.24 on SQLite pushes nothing else down and would decode
 * the whole collection) and a second shipment of an order is refused by `_id` itself. `orderId`
 * stays in the document because the API and the events carry it.
 */
export type ShipmentDocument = Shipment & { _id: string } & Partial<OutboxDocument>;

/** Shipments in MongoDB, one per order (`_id` = order id makes redelivered events harmless). */
export interface ShipmentsRepository {
  readonly collection: Collection<ShipmentDocument>;
  ensureIndexes(): Promise<void>;
  /** Stores the shipment with its ShipmentDispatched event in one write; false if the order has one. */
  createDispatched(shipment: Shipment): Promise<boolean>;
  findByOrderId(orderId: string): Promise<Shipment | null>;
}

/** Creates the repository over `<db>.shipments`. */
export function shipmentsRepository(db: Db): ShipmentsRepository {
  const collection = db.collection<ShipmentDocument>('shipments');
  return {
    collection,
    ensureIndexes: async () => {
      // No index on orderId: `_id` is the order id. Databases created before keep a stale
      // `order_unique` index; it is harmless (orderId is still unique), and dropping it here
      // would let replicas of the previous version, mid-rollout, ship an order twice.
      await ensureOutboxIndexes(collection);
    },
    createDispatched: (shipment) =>
      withMongoUnavailable(async () => {
        const event = buildOutboxEvent({
          topic: shipmentsTopic.name,
          type: ShipmentDispatched.type,
          key: shipment.orderId,
          data: {
            shipmentId: shipment.shipmentId,
            orderId: shipment.orderId,
            userId: shipment.userId,
            carrier: shipment.carrier,
            trackingId: shipment.trackingId,
            dispatchedAt: shipment.dispatchedAt,
          },
        });
        try {
          await insertWithOutbox(collection, { _id: shipment.orderId, ...shipment }, [event]);
          return true;
        } catch (err) {
          // A duplicate `_id`: this order already has a shipment.
          if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
          throw err;
        }
      }),
    findByOrderId: (orderId) =>
      withMongoUnavailable(() =>
        // Documents written before `_id` was the order id (ObjectId `_id`) are not found.
        collection.findOne(
          { _id: orderId },
          { projection: { _id: 0, outbox: 0, outboxPending: 0, outboxPendingSince: 0 } },
        ),
      ),
  };
}
