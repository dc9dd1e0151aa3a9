import { AppError } from '@emporium/platform';

/** Shipping's error codes, stable for clients. */
export const ShippingErrorCode = {
  SHIPMENT_NOT_FOUND: 'SHIPMENT_NOT_FOUND',
} as const;

/** No shipment exists (yet) for the order. */
export function shipmentNotFound(orderId: string): AppError {
  return new AppError(
    ShippingErrorCode.SHIPMENT_NOT_FOUND,
    404,
    `No shipment for order ${orderId}.`,
  );
}
