import assert from 'node:assert/strict';
import {
  cartTotalMinor,
  cartView,
  EMPTY_CART,
  MAX_LINES,
  MAX_QUANTITY,
  removeLine,
  setLine,
  type Cart,
  type PricedProduct,
} from './cart.js';

const now = new Date('2026-11-27T10:00:00Z');
const mug: PricedProduct = { sku: 'MUG-1', name: 'Mug', priceMinor: 1250, currency: 'EUR' };
const tea: PricedProduct = { sku: 'TEA-1', name: 'Tea', priceMinor: 499, currency: 'EUR' };
const dollarMug: PricedProduct = { ...mug, sku: 'MUG-US', currency: 'USD' };

/** Applies setLine and fails the test when it is refused. */
function put(cart: Cart, product: PricedProduct, quantity: number): Cart {
  const result = setLine(cart, product, quantity, now);
  assert.ok(result.ok, 'expected the line to be accepted');
  return result.cart;
}

describe('cart', () => {
  it('EMPTY → OPEN: the first line fixes the currency and is an addition', () => {
    const result = setLine(EMPTY_CART, mug, 2, now);
    assert.ok(result.ok);
    assert.equal(result.added, true);
    assert.deepEqual(result.cart, {
      lines: [{ sku: 'MUG-1', name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
      currency: 'EUR',
      updatedAt: '2026-11-27T10:00:00.000Z',
    });
    assert.equal(cartTotalMinor(result.cart), 2500);
  });

  it('OPEN → OPEN: same currency adds lines in sku order; the same sku replaces its quantity and price', () => {
    const cart = put(put(EMPTY_CART, tea, 1), mug, 2);
    assert.deepEqual(
      cart.lines.map((line) => line.sku),
      ['MUG-1', 'TEA-1'],
    );
    const repriced = setLine(cart, { ...mug, priceMinor: 1000, name: 'Big mug' }, 5, now);
    assert.ok(repriced.ok);
    assert.equal(repriced.added, false);
    assert.equal(repriced.cart.lines.length, 2);
    assert.deepEqual(repriced.cart.lines[0], {
      sku: 'MUG-1',
      name: 'Big mug',
      quantity: 5,
      unitPriceMinor: 1000,
    });
    assert.equal(cartTotalMinor(repriced.cart), 5 * 1000 + 499);
  });

  it('OPEN → refused: a product in another currency', () => {
    const result = setLine(put(EMPTY_CART, mug, 1), dollarMug, 1, now);
    assert.deepEqual(result, {
      ok: false,
      rejection: { reason: 'CURRENCY_MISMATCH', cartCurrency: 'EUR', productCurrency: 'USD' },
    });
  });

  it('OPEN (full) → refused for a new sku, still open to changing a line it holds', () => {
    let cart: Cart = EMPTY_CART;
    for (let i = 0; i < MAX_LINES; i++) cart = put(cart, { ...mug, sku: `SKU-${String(i)}` }, 1);
    assert.equal(cart.lines.length, MAX_LINES);
    assert.deepEqual(setLine(cart, tea, 1, now), {
      ok: false,
      rejection: { reason: 'CART_FULL', maxLines: MAX_LINES },
    });
    assert.equal(setLine(cart, { ...mug, sku: 'SKU-7' }, 3, now).ok, true);
  });

  it('OPEN → EMPTY: removing the last line frees the currency', () => {
    const cart = put(EMPTY_CART, mug, 1);
    const emptied = removeLine(cart, 'MUG-1', now);
    assert.deepEqual(emptied, { lines: [], currency: null, updatedAt: '2026-11-27T10:00:00.000Z' });
    assert.equal(setLine(emptied, dollarMug, 1, now).ok, true);
    const kept = removeLine(put(cart, tea, 1), 'MUG-1', now);
    assert.equal(kept.currency, 'EUR');
    assert.deepEqual(
      kept.lines.map((line) => line.sku),
      ['TEA-1'],
    );
  });

  it('removing a sku the cart lacks is no change at all (the same object)', () => {
    const cart = put(EMPTY_CART, mug, 1);
    assert.equal(removeLine(cart, 'TEA-1', now), cart);
    assert.equal(removeLine(EMPTY_CART, 'TEA-1', now), EMPTY_CART);
  });

  it('quantities outside 1–99 are a programming error (the route validates them)', () => {
    for (const quantity of [0, -1, MAX_QUANTITY + 1, 1.5]) {
      assert.throws(() => setLine(EMPTY_CART, mug, quantity, now), RangeError);
    }
    assert.equal(setLine(EMPTY_CART, mug, MAX_QUANTITY, now).ok, true);
  });

  it('the view of an empty cart has the default currency, a total of 0 and a time', () => {
    assert.deepEqual(cartView('u-1', EMPTY_CART, 'EUR', now), {
      userId: 'u-1',
      lines: [],
      currency: 'EUR',
      totalMinor: 0,
      updatedAt: '2026-11-27T10:00:00.000Z',
    });
    const view = cartView('u-1', put(EMPTY_CART, dollarMug, 3), 'EUR', new Date(0));
    assert.equal(view.currency, 'USD');
    assert.equal(view.totalMinor, 3750);
    assert.equal(view.updatedAt, '2026-11-27T10:00:00.000Z');
  });
});
