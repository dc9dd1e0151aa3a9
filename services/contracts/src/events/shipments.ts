import { z } from 'zod';
import { eventTopic, eventType } from '../event-type.js';
import { Id, Timestamp } from './common.js';

/** A paid order left the warehouse with a tracking id. */
export const ShipmentDispatched = eventType(
  'shipping',
  'ShipmentDispatched',
  'A paid order was dispatched with a tracking id.',
  z.object({
    shipmentId: Id,
    orderId: Id,
    userId: Id,
    carrier: z.string().min(1).max(50),
    trackingId: z.string().min(1).max(64),
    dispatchedAt: Timestamp,
  }),
);

/** `shipments.v1`: shipment events, keyed by order id. */
export const shipmentsTopic = eventTopic('shipments.v1', {
  summary: 'Shipment events published by shipping.',
  producer: 'shipping',
  events: [ShipmentDispatched],
});
