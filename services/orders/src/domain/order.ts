/** Every status an order can have, in saga order. */
export const ORDER_STATUSES = ['PENDING', 'PAID', 'SHIPPED', 'CANCELLED'] as const;

/** Where an order is in the saga. */
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** One priced line of an order; the price is catalog's at placement time. */
export interface OrderLine {
  sku: string;
  name: string;
  quantity: number;
  unitPriceMinor: number;
}

/** One step of an order's history. */
export interface HistoryEntry {
  status: OrderStatus;
  /** When it happened (the event's own time for saga steps). */
  at: string;
  reason?: string;
}

/** An order as the API shows it. */
export interface Order {
  orderId: string;
  userId: string;
  status: OrderStatus;
  lines: OrderLine[];
  totalMinor: number;
  currency: string;
  createdAt: string;
  updatedAt: string;
  history: HistoryEntry[];
  trackingId?: string;
  cancelReason?: string;
}

/** A dispatch that arrived before the payment it depends on, kept until the order is paid. */
export interface ParkedShipment {
  shipmentId: string;
  carrier: string;
  trackingId: string;
  dispatchedAt: string;
}

/** An order with what only the service sees: its version and a parked shipment. */
export interface OrderState extends Order {
  /** Optimistic-concurrency version, incremented by every state change. */
  version: number;
  parkedShipment?: ParkedShipment;
}

/** The legal moves of the saga; every other pair is illegal. */
const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: ['PAID', 'CANCELLED'],
  PAID: ['SHIPPED'],
  SHIPPED: [],
  CANCELLED: [],
};

/** Whether the state machine allows moving from one status to another. */
export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A saga event as the state machine sees it (already validated against its contract). */
export type OrderEvent =
  | { kind: 'payment-authorized'; at: string }
  | { kind: 'payment-declined'; at: string; reason: string }
  | ({ kind: 'shipment-dispatched' } & ParkedShipment);

/** One status change, for history and metrics. */
export interface Transition {
  from: OrderStatus;
  to: OrderStatus;
}

/** What an event does to an order. */
export type Decision =
  /** Store `next` (status change, or a parked shipment when `transitions` is empty). */
  | { kind: 'change'; next: Omit<OrderState, 'version'>; transitions: Transition[] }
  /** Already applied (a redelivery): nothing to do. */
  | { kind: 'noop'; reason: string }
  /** Contradicts the order's state; cannot be applied now or later. */
  | { kind: 'illegal'; reason: string };

/** Thrown by {@link transition} for a move the state machine forbids. */
export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
}

/**
 * Moves an order to `to`, appending to its history. Throws IllegalTransitionError for a move
 * the state machine does not allow, so no caller can skip a state by accident.
 */
export function transition<T extends Omit<OrderState, 'version'>>(
  order: T,
  to: OrderStatus,
  at: string,
  now: Date,
  reason?: string,
): T {
  if (!canTransition(order.status, to)) {
    throw new IllegalTransitionError(`An order cannot go from ${order.status} to ${to}.`);
  }
  return {
    ...order,
    status: to,
    updatedAt: now.toISOString(),
    history: [...order.history, { status: to, at, ...(reason === undefined ? {} : { reason }) }],
  };
}

/** Removes the parked shipment (a plain delete would leave `undefined` behind). */
function withoutParked<T extends { parkedShipment?: ParkedShipment }>(
  order: T,
): Omit<T, 'parkedShipment'> {
  const { parkedShipment: _parked, ...rest } = order;
  return rest;
}

/**
 * Decides what a saga event does to an order. Events come from two topics and may arrive in
 * any order or more than once: a repeat of an applied event is a no-op, and a dispatch that
 * overtook its payment is parked on the order and applied when the payment arrives (so it is
 * never lost and never blocks the consumer with retries).
 */
export function decide(order: OrderState, event: OrderEvent, now: Date): Decision {
  const { version: _version, ...current } = order;
  switch (event.kind) {
    case 'payment-authorized': {
      if (order.status === 'PAID' || order.status === 'SHIPPED') {
        return { kind: 'noop', reason: 'payment already applied' };
      }
      if (order.status === 'CANCELLED') {
        return { kind: 'illegal', reason: 'payment authorised for a cancelled order' };
      }
      const paid = transition(current, 'PAID', event.at, now);
      const parked = order.parkedShipment;
      if (parked === undefined) {
        return { kind: 'change', next: paid, transitions: [{ from: order.status, to: 'PAID' }] };
      }
      const shipped = transition(withoutParked(paid), 'SHIPPED', parked.dispatchedAt, now);
      return {
        kind: 'change',
        next: { ...shipped, trackingId: parked.trackingId },
        transitions: [
          { from: order.status, to: 'PAID' },
          { from: 'PAID', to: 'SHIPPED' },
        ],
      };
    }
    case 'payment-declined': {
      if (order.status === 'CANCELLED') return { kind: 'noop', reason: 'already cancelled' };
      if (order.status !== 'PENDING') {
        return { kind: 'illegal', reason: `payment declined for a ${order.status} order` };
      }
      const cancelled = transition(current, 'CANCELLED', event.at, now, event.reason);
      return {
        kind: 'change',
        next: { ...cancelled, cancelReason: event.reason },
        transitions: [{ from: 'PENDING', to: 'CANCELLED' }],
      };
    }
    case 'shipment-dispatched': {
      const { kind: _kind, ...shipment } = event;
      if (order.status === 'SHIPPED') return { kind: 'noop', reason: 'already shipped' };
      if (order.status === 'CANCELLED') {
        return { kind: 'illegal', reason: 'shipment dispatched for a cancelled order' };
      }
      if (order.status === 'PENDING') {
        if (order.parkedShipment !== undefined) {
          return { kind: 'noop', reason: 'shipment already parked' };
        }
        return {
          kind: 'change',
          next: { ...current, updatedAt: now.toISOString(), parkedShipment: shipment },
          transitions: [],
        };
      }
      const shipped = transition(current, 'SHIPPED', shipment.dispatchedAt, now);
      return {
        kind: 'change',
        next: { ...shipped, trackingId: shipment.trackingId },
        transitions: [{ from: 'PAID', to: 'SHIPPED' }],
      };
    }
  }
}

/** A line of the customer's cart, before pricing. */
export interface CartLine {
  sku: string;
  quantity: number;
}

/** A product as pricing needs it (catalog is the source of truth for names and prices). */
export interface PricedProduct {
  sku: string;
  name: string;
  priceMinor: number;
  currency: string;
}

/** The most lines one order may have (the OrderPlaced contract's bound). */
export const MAX_ORDER_LINES = 100;

/** The most units of one line (the OrderPlaced contract's bound). */
export const MAX_LINE_QUANTITY = 1000;

/** Why a cart cannot become an order, or its priced lines. */
export type Pricing =
  | { ok: true; lines: OrderLine[]; totalMinor: number; currency: string }
  | { ok: false; reason: 'CART_EMPTY' }
  | { ok: false; reason: 'CART_TOO_LARGE'; max: number }
  | { ok: false; reason: 'UNKNOWN_SKU'; skus: string[] }
  | { ok: false; reason: 'MIXED_CURRENCIES'; currencies: string[] };

/** Merges repeated skus so each appears once, keeping the cart's order. */
export function mergeCartLines(lines: readonly CartLine[]): CartLine[] {
  const merged = new Map<string, number>();
  for (const line of lines) merged.set(line.sku, (merged.get(line.sku) ?? 0) + line.quantity);
  return [...merged].map(([sku, quantity]) => ({ sku, quantity }));
}

/** Checks a cart's size before any upstream is asked to price it. */
export function checkCart(
  lines: readonly CartLine[],
): { ok: true; lines: CartLine[] } | Extract<Pricing, { ok: false }> {
  const merged = mergeCartLines(lines);
  if (merged.length === 0) return { ok: false, reason: 'CART_EMPTY' };
  if (merged.length > MAX_ORDER_LINES || merged.some((l) => l.quantity > MAX_LINE_QUANTITY)) {
    return { ok: false, reason: 'CART_TOO_LARGE', max: MAX_ORDER_LINES };
  }
  return { ok: true, lines: merged };
}

/** Prices cart lines with catalog's products; every line must be known and in one currency. */
export function price(cart: readonly CartLine[], products: readonly PricedProduct[]): Pricing {
  const checked = checkCart(cart);
  if (!checked.ok) return checked;
  const bySku = new Map(products.map((product) => [product.sku, product]));
  const lines: OrderLine[] = [];
  const unknown: string[] = [];
  const currencies = new Set<string>();
  for (const { sku, quantity } of checked.lines) {
    const product = bySku.get(sku);
    if (product === undefined) {
      unknown.push(sku);
      continue;
    }
    lines.push({ sku, name: product.name, quantity, unitPriceMinor: product.priceMinor });
    currencies.add(product.currency);
  }
  if (unknown.length > 0) return { ok: false, reason: 'UNKNOWN_SKU', skus: unknown };
  const [currency, ...others] = currencies;
  if (currency === undefined || others.length > 0) {
    return { ok: false, reason: 'MIXED_CURRENCIES', currencies: [...currencies] };
  }
  const totalMinor = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceMinor, 0);
  return { ok: true, lines, totalMinor, currency };
}

/** A new PENDING order, version 0, placed now. */
export function newOrder(
  input: {
    orderId: string;
    userId: string;
    lines: OrderLine[];
    totalMinor: number;
    currency: string;
  },
  now: Date,
): OrderState {
  const at = now.toISOString();
  return {
    ...input,
    status: 'PENDING',
    createdAt: at,
    updatedAt: at,
    history: [{ status: 'PENDING', at }],
    version: 0,
  };
}
