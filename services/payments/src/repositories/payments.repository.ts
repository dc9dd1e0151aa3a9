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

/** A payment as stored, with its embedded outbox. */
export type PaymentDocument = Payment & Partial<OutboxDocument>;

/** Payments in MongoDB, one per order (a unique index makes redelivered events harmless). */
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
      await collection.createIndex({ orderId: 1 }, { unique: true, name: 'order_unique' });
      await ensureOutboxIndexes(collection);
    },
    create: (payment) =>
      withMongoUnavailable(async () => {
        try {
          await insertWithOutbox(collection, { ...payment }, [paymentEvent(payment)]);
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
