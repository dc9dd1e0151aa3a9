import { AppError, type Logger } from '@emporium/platform';
import { orderIdFor } from '../domain/order-id.js';
import { checkCart, newOrder, price, type Order, type Pricing } from '../domain/order.js';
import {
  cartEmpty,
  cartTooLarge,
  idempotencyKeyReused,
  mixedCurrencies,
  outOfStock,
  unknownSku,
} from '../errors.js';
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
  /** The id of a new order; {@link orderIdFor} by default. */
  newId?: (userId: string, idempotencyKey?: string) => string;
}

/** How an order is placed. */
export interface PlaceOrderOptions {
  /** The client's Idempotency-Key: a repeat with the same key answers with the same order. */
  idempotencyKey?: string;
  logger?: Logger;
  /**
   * The user's own `Authorization` (their bearer token), passed on to cart: orders reads and
   * empties a cart as its user, never with an identity of its own.
   */
  authorization?: string;
}

/** The outcome of placing: the order, and whether an earlier request with the key made it. */
export interface Placement {
  order: Order;
  replayed: boolean;
}

/** Places a user's cart as an order; resolves with the PENDING order. */
export type PlaceOrder = (userId: string, options?: PlaceOrderOptions) => Promise<Placement>;

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
  const newId = deps.newId ?? orderIdFor;

  /** The order an earlier request with the same key placed, as that request answered it. */
  const earlier = async (orderId: string, userId: string): Promise<Order | undefined> => {
    const found = await deps.orders.findById(orderId);
    return found?.userId === userId ? found : undefined;
  };

  const place = async (
    userId: string,
    idempotencyKey: string | undefined,
    log: Logger,
    authorization: string | undefined,
  ): Promise<Placement> => {
    // The id comes first: it is the reservation's idempotency key, and with a client key it is
    // derived from it, so a repeat reserves nothing twice.
    const orderId = newId(userId, idempotencyKey);
    if (idempotencyKey !== undefined) {
      const order = await earlier(orderId, userId);
      if (order) return { order, replayed: true };
    }
    const cart = checkCart(await deps.cart.lines(userId, authorization));
    if (!cart.ok) throw pricingError(cart, userId);
    const products = await deps.catalog.productsBySku(cart.lines.map((line) => line.sku));
    const priced = price(cart.lines, products);
    if (!priced.ok) throw pricingError(priced, userId);
    const reservation = await deps.inventory.reserve(orderId, priced.lines);
    if (!reservation.ok) {
      throw 'mismatch' in reservation ? idempotencyKeyReused() : outOfStock(reservation.skus);
    }
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
      const created = await deps.orders.create(order);
      // Two requests with one key ran side by side and the other stored it first (placeOnce
      // answers with that order); without a key, a random id never collides.
      if (created === 'exists') throw new Error(`order ${orderId} is already stored`);
    } catch (error) {
      // Inventory holds a reservation no order will ever release; say so loudly.
      log.error({ err: error, orderId }, 'order not stored after its stock was reserved');
      throw error;
    }
    try {
      await deps.cart.clear(userId, authorization);
    } catch (error) {
      // The order stands; a cart left full is an annoyance, not a lost order.
      log.warn({ err: error, orderId, userId }, 'could not empty the cart after the order');
    }
    const { version: _version, ...placed } = order;
    return { order: placed, replayed: false };
  };

  /**
   * With a key, a failure may only mean that a request with the same key ran alongside and won
   * (it emptied the cart, or stored the order first): then its order is the answer.
   */
  const placeOnce = async (
    userId: string,
    idempotencyKey: string | undefined,
    log: Logger,
    authorization: string | undefined,
  ): Promise<Placement> => {
    try {
      return await place(userId, idempotencyKey, log, authorization);
    } catch (error) {
      if (idempotencyKey === undefined) throw error;
      const order = await earlier(newId(userId, idempotencyKey), userId);
      if (order) return { order, replayed: true };
      throw error;
    }
  };

  return async (userId, { idempotencyKey, logger = deps.logger, authorization } = {}) => {
    try {
      const placement = await placeOnce(userId, idempotencyKey, logger, authorization);
      const { order } = placement;
      if (placement.replayed) {
        logger.info({ orderId: order.orderId, userId }, 'order request repeated: same order');
        return placement;
      }
      deps.metrics.placed(order);
      logger.info(
        { orderId: order.orderId, userId, totalMinor: order.totalMinor, currency: order.currency },
        'order placed',
      );
      return placement;
    } catch (error) {
      deps.metrics.rejected(error instanceof AppError ? error.code : 'INTERNAL');
      throw error;
    }
  };
}
