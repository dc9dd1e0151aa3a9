import { randomUUID } from 'node:crypto';
import { AppError, type Logger } from '@emporium/platform';
import { checkCart, newOrder, price, type Order, type Pricing } from '../domain/order.js';
import { cartEmpty, cartTooLarge, mixedCurrencies, outOfStock, unknownSku } from '../errors.js';
import type { CartGateway } from '../gateways/cart.gateway.js';
import type { CatalogGateway } from '../gateways/catalog.gateway.js';
import type { InventoryGateway } from '../gateways/inventory.gateway.js';
import type { OrderMetrics } from '../order-metrics.js';
import type { OrdersRepository } from '../repositories/orders.repository.js';

/** What placing an order needs. */
export interface PlaceOrderDeps {
  orders: OrdersRepository;
  cart: CartGateway;
  catalog: CatalogGateway;
  inventory: InventoryGateway;
  metrics: OrderMetrics;
  logger: Logger;
  now?: () => Date;
  newId?: () => string;
}

/** Places a user's cart as an order; resolves with the PENDING order. */
export type PlaceOrder = (userId: string, logger?: Logger) => Promise<Order>;

/** The client error of a cart that cannot be priced. */
function pricingError(failure: Extract<Pricing, { ok: false }>, userId: string): AppError {
  switch (failure.reason) {
    case 'CART_EMPTY':
      return cartEmpty(userId);
    case 'CART_TOO_LARGE':
      return cartTooLarge(failure.max);
    case 'UNKNOWN_SKU':
      return unknownSku(failure.skus);
    case 'MIXED_CURRENCIES':
      return mixedCurrencies(failure.currencies);
  }
}

/**
 * Saga steps 2–3 (DESIGN.md "Flows"): read the cart, price it with catalog, reserve stock with
 * the order id as idempotency key, then write the PENDING order and its OrderPlaced event in
 * one document write. Nothing is written unless every upstream agreed; the cart is emptied
 * afterwards on a best-effort basis.
 */
export function placeOrderUseCase(deps: PlaceOrderDeps): PlaceOrder {
  const now = deps.now ?? (() => new Date());
  const newId = deps.newId ?? randomUUID;

  const place = async (userId: string, log: Logger): Promise<Order> => {
    // The id comes first: it is the reservation's idempotency key.
    const orderId = newId();
    const cart = checkCart(await deps.cart.lines(userId));
    if (!cart.ok) throw pricingError(cart, userId);
    const products = await deps.catalog.productsBySku(cart.lines.map((line) => line.sku));
    const priced = price(cart.lines, products);
    if (!priced.ok) throw pricingError(priced, userId);
    const reservation = await deps.inventory.reserve(orderId, priced.lines);
    if (!reservation.ok) throw outOfStock(reservation.skus);
    const order = newOrder(
      {
        orderId,
        userId,
        lines: priced.lines,
        totalMinor: priced.totalMinor,
        currency: priced.currency,
      },
      now(),
    );
    try {
      await deps.orders.create(order);
    } catch (error) {
      // Inventory holds a reservation no order will ever release; say so loudly.
      log.error({ err: error, orderId }, 'order not stored after its stock was reserved');
      throw error;
    }
    try {
      await deps.cart.clear(userId);
    } catch (error) {
      // The order stands; a cart left full is an annoyance, not a lost order.
      log.warn({ err: error, orderId, userId }, 'could not empty the cart after the order');
    }
    const { version: _version, ...placed } = order;
    return placed;
  };

  return async (userId, logger = deps.logger) => {
    try {
      const order = await place(userId, logger);
      deps.metrics.placed(order);
      logger.info(
        { orderId: order.orderId, userId, totalMinor: order.totalMinor, currency: order.currency },
        'order placed',
      );
      return order;
    } catch (error) {
      deps.metrics.rejected(error instanceof AppError ? error.code : 'INTERNAL');
      throw error;
    }
  };
}
