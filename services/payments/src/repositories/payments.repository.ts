import { PaymentAuthorized, PaymentDeclined, paymentsTopic } from '@emporium/contracts';
import {
  buildOutboxEvent,
  ensureOutboxIndexes,
  insertWithOutbox,
  withMongoUnavailable,
  type OutboxDocument,
  type OutboxEvent,
} from '@emporium/platform';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import type { Payment } from '../domain/payment.js';

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/**
 * A payment as stored: `_id` is the order id, the natural key, so every read and write goes
 * through the `_id` index (FerretDB 1.24 on SQLite pushes nothing else down and would decode
 * the whole collection) and a second payment of an order is refused by `_id` itself. `orderId`
 * stays in the document because the API and the events carry it.
 */
export type PaymentDocument = Payment & { _id: string } & Partial<OutboxDocument>;

/** Payments in MongoDB, one per order (`_id` = order id makes redelivered events harmless). */
export interface PaymentsRepository {
  readonly collection: Collection<PaymentDocument>;
  ensureIndexes(): Promise<void>;
  /**
   * Stores the settled payment with its PaymentAuthorized or PaymentDeclined event in one
   * write; false if the order already has a payment (nothing is written then).
   */
  create(payment: Payment): Promise<boolean>;
  findByOrderId(orderId: string): Promise<Payment | null>;
}

/** The event a settled payment announces on `payments.v1`, keyed by order id. */
function paymentEvent(payment: Payment): OutboxEvent {
  const { paymentId, orderId, userId, amountMinor, currency, createdAt } = payment;
  const common = { paymentId, orderId, userId, amountMinor, currency };
  return payment.status === 'AUTHORIZED'
    ? buildOutboxEvent({
        topic: paymentsTopic.name,
        type: PaymentAuthorized.type,
        key: orderId,
        data: { ...common, authorizedAt: createdAt },
      })
    : buildOutboxEvent({
        topic: paymentsTopic.name,
        type: PaymentDeclined.type,
        key: orderId,
        data: { ...common, reason: payment.reason ?? 'declined', declinedAt: createdAt },
      });
}

/** Creates the repository over `<db>.payments`. */
export function paymentsRepository(db: Db): PaymentsRepository {
  const collection = db.collection<PaymentDocument>('payments');
  return {
    collection,
    ensureIndexes: async () => {
      // No index on orderId: `_id` is the order id. Databases created before keep a stale
      // `order_unique` index; it is harmless (orderId is still unique), and dropping it here
      // would let replicas of the previous version, mid-rollout, pay an order twice.
      await ensureOutboxIndexes(collection);
    },
    create: (payment) =>
      withMongoUnavailable(async () => {
        try {
          const doc = { _id: payment.orderId, ...payment };
          await insertWithOutbox(collection, doc, [paymentEvent(payment)]);
          return true;
        } catch (err) {
          // A duplicate `_id`: this order already has a payment.
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
