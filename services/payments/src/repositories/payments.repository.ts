import { PaymentAuthorized, PaymentDeclined, paymentsTopic } from '@emporium/contracts';
import {
  buildOutboxEvent,
  ensureOutboxIndexes,
  updateWithOutbox,
  withMongoUnavailable,
  type OutboxDocument,
  type OutboxEvent,
} from '@emporium/platform';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import type { Payment, PendingPayment } from '../domain/payment.js';

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/**
 * A payment as stored: `_id` is the order id, the natural key, so every read and write goes
 * through the `_id` index (FerretDB 1.24 on SQLite pushes nothing else down and would decode
 * the whole collection) and a second payment of an order is refused by `_id` itself. `orderId`
 * stays in the document because the API and the events carry it.
 */
export type PaymentDocument = (Payment | PendingPayment) & {
  _id: string;
} & Partial<OutboxDocument>;

/** What a read returns: the payment without its storage fields. */
const PAYMENT_ONLY = { _id: 0, outbox: 0, outboxPending: 0, outboxPendingSince: 0 } as const;

/** Payments in MongoDB, one per order (`_id` = order id makes redelivered events harmless). */
export interface PaymentsRepository {
  readonly collection: Collection<PaymentDocument>;
  ensureIndexes(): Promise<void>;
  /**
   * Stores a PENDING payment before the provider is asked; when the order already has one
   * (a redelivery, a crash mid-payment, a concurrent member), that one is returned instead and
   * nothing is written, so every attempt at an order's payment shares one id.
   */
  claim(pending: PendingPayment): Promise<PendingPayment | Payment>;
  /**
   * Moves the order's PENDING payment to its outcome with its PaymentAuthorized or
   * PaymentDeclined event in one write; false when it was no longer PENDING (another attempt
   * settled it first; nothing is written then).
   */
  settle(payment: Payment): Promise<boolean>;
  /** The order's payment, settled or not. */
  find(orderId: string): Promise<PendingPayment | Payment | null>;
  /** The order's payment once the provider answered (a PENDING one is not served). */
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
    claim: (pending) =>
      withMongoUnavailable(async () => {
        try {
          await collection.insertOne({ _id: pending.orderId, ...pending });
          return pending;
        } catch (err) {
          // A duplicate `_id`: this order's payment was started before; resume that one.
          if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
          const existing =
            (await collection.findOne({ _id: pending.orderId }, { projection: PAYMENT_ONLY })) ??
            // Paid by an earlier version (ObjectId `_id`, refused by its `order_unique` index):
            // only then is the order looked up by a field, which scans.
            (await collection.findOne({ orderId: pending.orderId }, { projection: PAYMENT_ONLY }));
          if (!existing) throw err;
          return existing;
        }
      }),
    settle: (payment) =>
      withMongoUnavailable(async () => {
        const outcome =
          payment.status === 'DECLINED'
            ? { status: payment.status, reason: payment.reason ?? 'declined' }
            : { status: payment.status };
        const result = await updateWithOutbox(
          collection,
          { _id: payment.orderId, status: 'PENDING' },
          { $set: outcome },
          [paymentEvent(payment)],
        );
        return result.matchedCount === 1;
      }),
    find: (orderId) =>
      withMongoUnavailable(() =>
        collection.findOne({ _id: orderId }, { projection: PAYMENT_ONLY }),
      ),
    findByOrderId: (orderId) =>
      withMongoUnavailable(async () => {
        // Documents written before `_id` was the order id (ObjectId `_id`) are not found.
        const payment = await collection.findOne({ _id: orderId }, { projection: PAYMENT_ONLY });
        return payment && payment.status !== 'PENDING' ? payment : null;
      }),
  };
}
