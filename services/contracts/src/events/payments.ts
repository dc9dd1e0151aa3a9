import { z } from 'zod';
import { eventTopic, eventType } from '../event-type.js';
import { AmountMinor, Currency, Id, Timestamp } from './common.js';

const payment = {
  paymentId: Id,
  orderId: Id,
  userId: Id,
  amountMinor: AmountMinor,
  currency: Currency,
};

/** The payment provider authorised the order's amount. */
export const PaymentAuthorized = eventType(
  'payments',
  'PaymentAuthorized',
  "The payment provider authorised the order's amount.",
  z.object({ ...payment, authorizedAt: Timestamp }),
);

/** The payment provider declined; the order will be cancelled. */
export const PaymentDeclined = eventType(
  'payments',
  'PaymentDeclined',
  'The payment provider declined the payment.',
  z.object({ ...payment, reason: z.string().min(1).max(200), declinedAt: Timestamp }),
);

/** `payments.v1`: payment outcomes, keyed by order id. */
export const paymentsTopic = eventTopic('payments.v1', {
  summary: 'Payment outcomes published by payments.',
  producer: 'payments',
  events: [PaymentAuthorized, PaymentDeclined],
});
