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

/** A shipment as stored, with its embedded outbox. */
export type ShipmentDocument = Shipment & Partial<OutboxDocument>;

/** Shipments in MongoDB, one per order (a unique index makes redelivered events harmless). */
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
      await collection.createIndex({ orderId: 1 }, { unique: true, name: 'order_unique' });
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
          await insertWithOutbox(collection, { ...shipment }, [event]);
          return true;
        } catch (err) {
          if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
          throw err;
        }
      }),
    findByOrderId: (orderId) =>
      withMongoUnavailable(() =>
        collection.findOne(
          { orderId },
          { projection: { _id: 0, outbox: 0, outboxPending: 0, outboxPendingSince: 0 } },
        ),
      ),
  };
}
