import { Id } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Identity } from '../domain/identity.js';
import { identityHeaders, type Upstreams } from '../gateways/upstreams.gateway.js';
import { requireCaller } from './edge.middleware.js';
import { forwardAsCaller, sendUpstream } from './forward.js';
import {
  NotificationListSchema,
  OrderAcceptedSchema,
  OrderListSchema,
  OrderSchema,
  PaymentSchema,
  ShipmentSchema,
} from './schemas.js';

const SIGNED_IN = 'Needs a bearer token (401 without a valid one).';
const OWN_ORDER = `${SIGNED_IN} 404 for an order that is not the caller's.`;

/** The caller's orders, their shipments and payments, and the caller's notifications. */
export function orderRoutes(routes: Routes, upstreams: Upstreams): void {
  /**
   * Whether the order is the caller's: orders answers 404 for another user's order when
   * it knows the caller. Shipping and payments do not know owners, so their answers are only
   * shown after this check; otherwise the orders answer (404) goes back as it is.
   */
  const ownOrder = async (req: Request, res: Response, caller: Identity): Promise<boolean> => {
    const id = (req.params as { id: string }).id;
    const order = await upstreams.orders.request({
      method: 'GET',
      path: `/orders/${encodeURIComponent(id)}`,
      headers: identityHeaders(caller),
    });
    if (!order.ok) sendUpstream(res, order);
    return order.ok;
  };

  routes.post(
    '/api/orders',
    {
      access: 'user',
      summary: 'Place an order from the caller’s cart',
      description: `${SIGNED_IN} Payment and shipping follow asynchronously; poll the Location. Send an \`Idempotency-Key\` (e.g. a UUID) to make the request safe to repeat: a repeat answers with the same order and \`Idempotent-Replayed: true\`.`,
      responses: {
        202: OrderAcceptedSchema,
        400: 'problem',
        401: 'problem',
        409: 'problem',
        429: 'problem',
      },
    },
    async (req, res) => {
      const caller = requireCaller(req);
      // Passed on as is: orders validates it, and with it the call may be retried safely.
      const key = req.get('idempotency-key');
      const upstream = await upstreams.orders.request({
        method: 'POST',
        path: '/orders',
        body: { userId: caller.userId },
        headers: {
          ...identityHeaders(caller),
          ...(key === undefined ? {} : { 'idempotency-key': key }),
        },
      });
      const location = upstream.ok
        ? `/api/orders/${encodeURIComponent(OrderAcceptedSchema.parse(upstream.body).orderId)}`
        : undefined;
      sendUpstream(res, upstream, location);
    },
  );

  routes.get(
    '/api/orders',
    {
      access: 'user',
      summary: 'The caller’s orders',
      description: SIGNED_IN,
      responses: { 200: OrderListSchema, 401: 'problem', 429: 'problem' },
    },
    (req, res) =>
      forwardAsCaller(req, res, upstreams.orders, (caller) => ({
        method: 'GET',
        path: '/orders',
        query: { userId: caller.userId },
      })),
  );

  routes.get(
    '/api/orders/:id',
    {
      access: 'user',
      summary: 'One of the caller’s orders',
      description: OWN_ORDER,
      params: z.object({ id: Id }),
      responses: { 200: OrderSchema, 401: 'problem', 404: 'problem', 429: 'problem' },
    },
    (req, res) =>
      forwardAsCaller(req, res, upstreams.orders, () => ({
        method: 'GET',
        path: `/orders/${encodeURIComponent(req.params.id)}`,
      })),
  );

  /**
   * A read of what another service keeps per order (its shipment, its payment), shown only
   * after {@link ownOrder} confirmed the order is the caller's.
   */
  const perOrder = (
    suffix: 'shipment' | 'payment',
    summary: string,
    notYet: string,
    schema: z.ZodType,
    upstream: Upstreams['shipping'],
    path: (orderId: string) => string,
  ): void => {
    routes.get(
      `/api/orders/:id/${suffix}`,
      {
        access: 'user',
        summary,
        description: `${OWN_ORDER} 404 too until ${notYet}.`,
        params: z.object({ id: Id }),
        responses: { 200: schema, 401: 'problem', 404: 'problem', 429: 'problem' },
      },
      async (req, res) => {
        const caller = requireCaller(req);
        if (!(await ownOrder(req, res, caller))) return;
        sendUpstream(
          res,
          await upstream.request({
            method: 'GET',
            path: path(encodeURIComponent(req.params.id)),
            headers: identityHeaders(caller),
          }),
        );
      },
    );
  };
  perOrder(
    'shipment',
    'The shipment of one of the caller’s orders',
    'the order is shipped',
    ShipmentSchema,
    upstreams.shipping,
    (id) => `/shipments/${id}`,
  );
  perOrder(
    'payment',
    'The payment of one of the caller’s orders',
    'the payment was decided',
    PaymentSchema,
    upstreams.payments,
    (id) => `/payments/${id}`,
  );

  routes.get(
    '/api/notifications',
    {
      access: 'user',
      summary: 'The caller’s notifications, oldest first',
      description: SIGNED_IN,
      responses: { 200: NotificationListSchema, 401: 'problem', 429: 'problem' },
    },
    (req, res) =>
      forwardAsCaller(req, res, upstreams.notifications, (caller) => ({
        method: 'GET',
        path: '/notifications',
        query: { userId: caller.userId },
      })),
  );
}
