/** Most of one sku a cart holds (the API's `quantity` bound). */
export const MAX_QUANTITY = 99;

/** Most distinct skus one cart holds, so a cart (one Redis hash) stays small. */
export const MAX_LINES = 50;

/** One line of a cart, priced by the catalog when it was last written. */
export interface CartLine {
  sku: string;
  name: string;
  quantity: number;
  unitPriceMinor: number;
}

/**
 * A cart: EMPTY (no lines, no currency) or OPEN (lines, all in the catalog currency of the
 * first line). `updatedAt` is null for a cart never written.
 */
export interface Cart {
  lines: readonly CartLine[];
  currency: string | null;
  updatedAt: string | null;
}

/** The cart of a user who has none yet. */
export const EMPTY_CART: Cart = Object.freeze({
  lines: Object.freeze([]),
  currency: null,
  updatedAt: null,
});

/** What the catalog says about a product, as far as a cart line needs it. */
export interface PricedProduct {
  sku: string;
  name: string;
  priceMinor: number;
  currency: string;
}

/** Why a line cannot go into a cart. */
export type LineRejection =
  | { reason: 'CURRENCY_MISMATCH'; cartCurrency: string; productCurrency: string }
  | { reason: 'CART_FULL'; maxLines: number };

/** The result of {@link setLine}: the next cart, or why the change is refused. */
export type SetLineResult =
  { ok: true; cart: Cart; added: boolean } | { ok: false; rejection: LineRejection };

/** Lines in sku order, so a cart reads the same however its lines were stored. */
function sorted(lines: readonly CartLine[]): CartLine[] {
  return [...lines].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

/**
 * Sets the quantity of a product in the cart, with the catalog's current name and price.
 * Legal from EMPTY (the product's currency becomes the cart's) and from OPEN in the same
 * currency; a new sku in a full cart and a product in another currency are refused.
 */
export function setLine(
  cart: Cart,
  product: PricedProduct,
  quantity: number,
  now: Date,
): SetLineResult {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
    // The route validates the body; reaching this is a bug, not a client error.
    throw new RangeError(`quantity must be 1–${String(MAX_QUANTITY)}, got ${String(quantity)}`);
  }
  if (cart.currency !== null && cart.lines.length > 0 && cart.currency !== product.currency) {
    return {
      ok: false,
      rejection: {
        reason: 'CURRENCY_MISMATCH',
        cartCurrency: cart.currency,
        productCurrency: product.currency,
      },
    };
  }
  const others = cart.lines.filter((line) => line.sku !== product.sku);
  const added = others.length === cart.lines.length;
  if (added && cart.lines.length >= MAX_LINES) {
    return { ok: false, rejection: { reason: 'CART_FULL', maxLines: MAX_LINES } };
  }
  const line: CartLine = {
    sku: product.sku,
    name: product.name,
    quantity,
    unitPriceMinor: product.priceMinor,
  };
  return {
    ok: true,
    added,
    cart: {
      lines: sorted([...others, line]),
      currency: product.currency,
      updatedAt: now.toISOString(),
    },
  };
}

/**
 * Removes a sku from the cart. Removing the last line makes the cart EMPTY again (free to take
 * another currency); removing a sku the cart lacks returns the very same cart (nothing to write).
 */
export function removeLine(cart: Cart, sku: string, now: Date): Cart {
  const lines = cart.lines.filter((line) => line.sku !== sku);
  if (lines.length === cart.lines.length) return cart;
  return {
    lines,
    currency: lines.length === 0 ? null : cart.currency,
    updatedAt: now.toISOString(),
  };
}

/** The cart's total in minor units of its currency. */
export function cartTotalMinor(cart: Cart): number {
  return cart.lines.reduce((total, line) => total + line.quantity * line.unitPriceMinor, 0);
}

/** A cart as the API returns it. */
export interface CartView {
  userId: string;
  lines: CartLine[];
  currency: string;
  totalMinor: number;
  updatedAt: string;
}

/**
 * The API's view of a user's cart: an EMPTY cart reports the store's default currency, and one
 * never written reports `now` as its update time (the contract always has both).
 */
export function cartView(userId: string, cart: Cart, defaultCurrency: string, now: Date): CartView {
  return {
    userId,
    lines: cart.lines.map((line) => ({ ...line })),
    currency: cart.lines.length > 0 && cart.currency !== null ? cart.currency : defaultCurrency,
    totalMinor: cartTotalMinor(cart),
    updatedAt: cart.updatedAt ?? now.toISOString(),
  };
}
