import { AppError } from '@emporium/platform';

/** Payments' error codes, stable for clients. */
export const PaymentsErrorCode = {
  PAYMENT_NOT_FOUND: 'PAYMENT_NOT_FOUND',
} as const;

/** No payment exists (yet) for the order, or the caller may not see it. */
export function paymentNotFound(orderId: string): AppError {
  return new AppError(PaymentsErrorCode.PAYMENT_NOT_FOUND, 404, `No payment for order ${orderId}.`);
}
