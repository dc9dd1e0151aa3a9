import { AmountMinor, Currency, Id, Sku } from '@emporium/contracts';
import { callerOf, errors, mayActFor, type AppError, type Routes } from '@emporium/platform';
import { z } from 'zod';
import { IDEMPOTENCY_KEY } from '../domain/order-id.js';
import { ORDER_STATUSES } from '../domain/order.js';
import { orderNotFound } from '../errors.js';
import type { OrdersRepository } from '../repositories/orders.repository.js';
import type { PlaceOrder } from '../use-cases/place-order.use-case.js';

/** The request header that makes `POST /orders` safe to repeat. */
const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

const Status = z.enum(ORDER_STATUSES);
const Time = z.iso.datetime({ offset: true });

/** An order as the API returns it. */
export const OrderSchema = z
  .object({
    orderId: Id,
    userId: Id,
    status: Status,
    lines: z.array(
      z.object({
        sku: Sku,
        name: z.string(),
        quantity: z.int().min(1),
        unitPriceMinor: AmountMinor,
      }),
    ),
    totalMinor: AmountMinor,
    currency: Currency,
    createdAt: Time,
    updatedAt: Time,
    history: z.array(z.object({ status: Status, at: Time, reason: z.string().optional() })),
    trackingId: z.string().optional(),
    cancelReason: z.string().optional(),
  })
  .meta({ id: 'Order' });

/** The answer to an accepted placement. */
export const PlacedSchema = z
  .object({ orderId: Id, status: z.literal('PENDING') })
  .meta({ id: 'OrderAccepted' });

/** The body of `POST /orders`. */
export const PlaceOrderBody = z.object({ userId: Id });

const forbidden = (): AppError =>
  errors.forbidden('A customer may only see and place their own orders.');

/** POST /orders, GET /orders/:id, GET /orders?userId=. */
export function orderRoutes(
  routes: Routes,
  orders: OrdersRepository,
  placeOrder: PlaceOrder,
): void {
  routes.post(
    '/orders',
    {
      access: 'user',
      summary: "Places the user's cart as an order",
      description:
        'Reads the cart, prices it with catalog, reserves stock, stores the order as PENDING ' +
        'and empties the cart. Payment and shipping follow asynchronously; poll the Location. ' +
        'With an `Idempotency-Key` header (1–255 visible ASCII characters, e.g. a UUID) a ' +
        'repeat of the request answers with the same order and `Idempotent-Replayed: true`, ' +
        'and nothing is ordered twice.',
      body: PlaceOrderBody,
      responses: {
        202: PlacedSchema,
        400: 'problem',
        403: 'problem',
        409: {
          description:
            'CART_EMPTY, CART_TOO_LARGE, UNKNOWN_SKU (`skus`), MIXED_CURRENCIES or ' +
            'OUT_OF_STOCK (`skus`); nothing was ordered.',
        },
        422: {
          description:
            'IDEMPOTENCY_KEY_REUSED: the key was used before for a checkout of other lines ' +
            '(the cart changed before the retry); nothing was ordered. Send a new key.',
        },
        502: 'problem',
        504: 'problem',
      },
    },
    async (req, res) => {
      const { userId } = req.body;
      if (!mayActFor(callerOf(req), userId)) throw forbidden();
      const idempotencyKey = req.get(IDEMPOTENCY_KEY_HEADER);
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
        throw errors.validation([
          { path: 'headers.idempotency-key', message: 'expected 1–255 visible ASCII characters' },
        ]);
      }
      const { order, replayed } = await placeOrder(userId, {
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(req.headers.authorization === undefined
          ? {}
          : { authorization: req.headers.authorization }),
        logger: req.log,
      });
      // A replay answers as the first request did (the order was PENDING then).
      if (replayed) res.set('idempotent-replayed', 'true');
      res
        .status(202)
        .location(`/orders/${order.orderId}`)
        .json({ orderId: order.orderId, status: 'PENDING' });
    },
  );

  routes.get(
    '/orders/:id',
    {
      access: 'user',
      summary: 'One order with its status history',
      params: z.object({ id: Id }),
      responses: { 200: OrderSchema, 404: 'problem' },
    },
    async (req, res) => {
      const order = await orders.findById(req.params.id);
      // Someone else's order is "not found", so ids cannot be probed for existence.
      if (!order || !mayActFor(callerOf(req), order.userId)) throw orderNotFound(req.params.id);
      res.json(order);
    },
  );

  routes.get(
    '/orders',
    {
      access: 'user',
      summary: "A user's orders, newest first",
      query: z.object({
        userId: Id,
        limit: z.coerce.number().int().min(1).max(100).default(100),
      }),
      responses: { 200: z.object({ items: z.array(OrderSchema) }), 403: 'problem' },
    },
    async (req, res) => {
      const { userId, limit } = req.query;
      if (!mayActFor(callerOf(req), userId)) throw forbidden();
      res.json({ items: await orders.listByUser(userId, limit) });
    },
  );
}
