import { Id } from '@emporium/contracts';
import { callerOf, mayActFor, type Routes } from '@emporium/platform';
import { z } from 'zod';
import { shipmentNotFound } from '../errors.js';
import type { ShipmentsRepository } from '../repositories/shipments.repository.js';

/** A shipment as the API returns it. */
export const ShipmentSchema = z
  .object({
    shipmentId: z.string(),
    orderId: z.string(),
    userId: z.string(),
    carrier: z.string(),
    trackingId: z.string(),
    status: z.enum(['DISPATCHED']),
    dispatchedAt: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Shipment' });

/** GET /shipments/:orderId. */
export function shipmentRoutes(routes: Routes, shipments: ShipmentsRepository): void {
  routes.get(
    '/shipments/:orderId',
    {
      access: 'user',
      summary: "The order's shipment, once its payment was authorised",
      description:
        "Needs the user's bearer token; another user's shipment is 404 (admins see any).",
      params: z.object({ orderId: Id }),
      responses: { 200: ShipmentSchema, 404: 'problem' },
    },
    async (req, res) => {
      const shipment = await shipments.findByOrderId(req.params.orderId);
      // Another user's shipment is not found, as another user's order is at orders.
      if (!shipment || !mayActFor(callerOf(req), shipment.userId)) {
        throw shipmentNotFound(req.params.orderId);
      }
      res.json(shipment);
    },
  );
}
