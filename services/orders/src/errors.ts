import { AppError, PlatformErrorCode } from '@emporium/platform';

/** Orders' error codes, stable for clients. */
export const OrdersErrorCode = {
  ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
  CART_EMPTY: 'CART_EMPTY',
  CART_TOO_LARGE: 'CART_TOO_LARGE',
  UNKNOWN_SKU: 'UNKNOWN_SKU',
  MIXED_CURRENCIES: 'MIXED_CURRENCIES',
  OUT_OF_STOCK: 'OUT_OF_STOCK',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
} as const;

/** No such order (or not one the caller may see). */
export function orderNotFound(orderId: string): AppError {
  return new AppError(OrdersErrorCode.ORDER_NOT_FOUND, 404, `No order ${orderId}.`);
}

/** The customer's cart has no lines to order. */
export function cartEmpty(userId: string): AppError {
  return new AppError(OrdersErrorCode.CART_EMPTY, 409, `The cart of ${userId} is empty.`);
}

/** The cart has more lines (or units) than one order may carry. */
export function cartTooLarge(maxLines: number): AppError {
  return new AppError(
    OrdersErrorCode.CART_TOO_LARGE,
    409,
    `An order takes at most ${String(maxLines)} lines of at most 1000 units each.`,
    { extensions: { maxLines } },
  );
}

/** Catalog no longer has some of the cart's skus; `skus` names them. */
export function unknownSku(skus: readonly string[]): AppError {
  return new AppError(
    OrdersErrorCode.UNKNOWN_SKU,
    409,
    `The catalog does not have ${skus.join(', ')}; remove it from the cart.`,
    { extensions: { skus: [...skus] } },
  );
}

/** The cart's products are priced in more than one currency, which one order cannot hold. */
export function mixedCurrencies(currencies: readonly string[]): AppError {
  return new AppError(
    OrdersErrorCode.MIXED_CURRENCIES,
    409,
    `The cart's products are priced in ${currencies.join(', ')}; an order has one currency.`,
    { extensions: { currencies: [...currencies] } },
  );
}

/** Inventory could not reserve every line; `skus` names the short (or unknown) ones. */
export function outOfStock(skus: readonly string[]): AppError {
  return new AppError(
    OrdersErrorCode.OUT_OF_STOCK,
    409,
    skus.length > 0
      ? `Not enough stock of ${skus.join(', ')}.`
      : 'Not enough stock for this order.',
    { extensions: { skus: [...skus] } },
  );
}

/**
 * The Idempotency-Key was used before for a checkout of other lines (the cart changed between
 * the first try and the retry); 422 as the IETF Idempotency-Key draft says for a reused key.
 */
export function idempotencyKeyReused(): AppError {
  return new AppError(
    OrdersErrorCode.IDEMPOTENCY_KEY_REUSED,
    422,
    'This Idempotency-Key was used for a checkout of a different cart; send a new key to order the cart as it is now.',
  );
}

/** Another service answered a 4xx the contract does not allow here: a bug, not the client's. */
export function upstreamRejected(upstream: string, status: number): AppError {
  return new AppError(
    PlatformErrorCode.UPSTREAM_FAILED,
    502,
    `The ${upstream} service refused the call (HTTP ${String(status)}).`,
  );
}
