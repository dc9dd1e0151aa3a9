import { catalogTopic } from './events/catalog.js';
import { ordersTopic } from './events/orders.js';
import { paymentsTopic } from './events/payments.js';
import { shipmentsTopic } from './events/shipments.js';

/** Every topic, in saga order. */
export const TOPICS = [catalogTopic, ordersTopic, paymentsTopic, shipmentsTopic] as const;

/**
 * Who consumes what: consumer group (named after the service) → the event types it handles.
 * The AsyncAPI document's receive operations come from this table.
 */
export const SUBSCRIPTIONS: Readonly<Record<string, readonly string[]>> = {
  payments: ['com.emporium.orders.OrderPlaced'],
  // Inventory opens a stock record for every product it hears of.
  inventory: [
    'com.emporium.catalog.ProductUpdated',
    'com.emporium.orders.OrderCancelled',
    'com.emporium.shipping.ShipmentDispatched',
  ],
  orders: [
    'com.emporium.payments.PaymentAuthorized',
    'com.emporium.payments.PaymentDeclined',
    'com.emporium.shipping.ShipmentDispatched',
  ],
  shipping: ['com.emporium.payments.PaymentAuthorized'],
  notifications: [
    'com.emporium.orders.OrderPlaced',
    'com.emporium.orders.OrderCancelled',
    'com.emporium.payments.PaymentAuthorized',
    'com.emporium.payments.PaymentDeclined',
    'com.emporium.shipping.ShipmentDispatched',
  ],
};
