import { AppError } from '@emporium/platform';

/** Inventory's error codes, stable for clients. */
export const InventoryErrorCode = {
  STOCK_NOT_FOUND: 'STOCK_NOT_FOUND',
  RESERVATION_NOT_FOUND: 'RESERVATION_NOT_FOUND',
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  RESERVATION_IN_PROGRESS: 'RESERVATION_IN_PROGRESS',
  RESERVATION_MISMATCH: 'RESERVATION_MISMATCH',
} as const;

/** Inventory holds no stock record for the sku. */
export function stockNotFound(sku: string): AppError {
  return new AppError(InventoryErrorCode.STOCK_NOT_FOUND, 404, `No stock record for ${sku}.`);
}

/** No reservation exists for the order. */
export function reservationNotFound(orderId: string): AppError {
  return new AppError(
    InventoryErrorCode.RESERVATION_NOT_FOUND,
    404,
    `No reservation for order ${orderId}.`,
  );
}

/** Some lines could not be reserved; `skus` names the short or unknown ones, nothing is held. */
export function insufficientStock(skus: readonly string[]): AppError {
  return new AppError(
    InventoryErrorCode.INSUFFICIENT_STOCK,
    409,
    `Not enough stock for ${skus.join(', ')}; nothing was reserved.`,
    { extensions: { skus: [...skus] } },
  );
}

/** The order id was reserved before for other lines; `lines` are the ones it holds. */
export function reservationMismatch(
  orderId: string,
  lines: readonly { sku: string; quantity: number }[],
): AppError {
  return new AppError(
    InventoryErrorCode.RESERVATION_MISMATCH,
    409,
    `Order ${orderId} was reserved before with other lines; nothing more was reserved.`,
    { extensions: { lines: lines.map(({ sku, quantity }) => ({ sku, quantity })) } },
  );
}

/** Another request for the same order is still reserving; retrying soon returns its outcome. */
export function reservationInProgress(orderId: string, retryAfterSeconds: number): AppError {
  return new AppError(
    InventoryErrorCode.RESERVATION_IN_PROGRESS,
    409,
    `The reservation of order ${orderId} is still in progress.`,
    { headers: { 'retry-after': String(retryAfterSeconds) } },
  );
}
