import { AppError, errors } from '@emporium/platform';
import type { LineRejection } from './domain/cart.js';

/** Cart's error codes, stable for clients. */
export const CartErrorCode = {
  UNKNOWN_SKU: 'UNKNOWN_SKU',
  CURRENCY_MISMATCH: 'CURRENCY_MISMATCH',
  CART_FULL: 'CART_FULL',
  CART_BUSY: 'CART_BUSY',
} as const;

/** The catalog has no product with this sku. */
export function unknownSku(sku: string): AppError {
  return new AppError(CartErrorCode.UNKNOWN_SKU, 404, `The catalog has no product ${sku}.`, {
    extensions: { sku },
  });
}

/** The domain's refusal of a line, as the 409 the client sees. */
export function lineRejected(rejection: LineRejection): AppError {
  switch (rejection.reason) {
    case 'CURRENCY_MISMATCH':
      return new AppError(
        CartErrorCode.CURRENCY_MISMATCH,
        409,
        `The cart is in ${rejection.cartCurrency}; this product is priced in ${rejection.productCurrency}.`,
        {
          extensions: {
            cartCurrency: rejection.cartCurrency,
            productCurrency: rejection.productCurrency,
          },
        },
      );
    case 'CART_FULL':
      return new AppError(
        CartErrorCode.CART_FULL,
        409,
        `A cart holds at most ${String(rejection.maxLines)} different products.`,
        { extensions: { maxLines: rejection.maxLines } },
      );
  }
}

/** Concurrent writes to one cart kept winning over this one; retrying soon will succeed. */
export function cartBusy(userId: string): AppError {
  return new AppError(
    CartErrorCode.CART_BUSY,
    503,
    `The cart of ${userId} is being changed concurrently; retry.`,
    { headers: { 'retry-after': '1' } },
  );
}

/** The caller (the user of the verified token) is neither the cart's owner nor an admin. */
export function notYourCart(): AppError {
  return errors.forbidden('This cart belongs to another user.');
}
