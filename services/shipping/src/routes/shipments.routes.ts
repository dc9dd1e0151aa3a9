import { Id } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
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
      summary: "The order's shipment, once its payment was authorised",
      params: z.object({ orderId: Id }),
      responses: { 200: ShipmentSchema, 404: 'problem' },
    },
    async (req, res) => {
      const shipment = await shipments.findByOrderId(req.params.orderId);
      if (!shipment) throw shipmentNotFound(req.params.orderId);
      res.json(shipment);
    },
  );
}
