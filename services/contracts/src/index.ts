// @emporium/contracts: the event contracts shared by producers and consumers, and the HTTP
// bodies two services both document (catalog's product input, which the gateway passes on).
import { fileURLToPath } from 'node:url';

export { buildAsyncApiDocument, type AsyncApiDocument } from './asyncapi.js';
export { SUBSCRIPTIONS, TOPICS } from './catalogue.js';
export {
  eventTopic,
  eventType,
  type EventData,
  type EventTopic,
  type EventType,
} from './event-type.js';
export { catalogTopic, ProductUpdated } from './events/catalog.js';
export { AmountMinor, Currency, Id, OrderLine, Sku, Timestamp } from './events/common.js';
export { OrderCancelled, OrderPlaced, ordersTopic } from './events/orders.js';
export { PaymentAuthorized, PaymentDeclined, paymentsTopic } from './events/payments.js';
export { ShipmentDispatched, shipmentsTopic } from './events/shipments.js';
export {
  Category,
  ImageUrl,
  MAX_PRICE_MINOR,
  ProductInputSchema,
  ProductReplacementSchema,
} from './http/products.js';

/** The version of the contracts, stamped into the AsyncAPI document. */
export const CONTRACTS_VERSION = '1.0.0';

/** Where the generated AsyncAPI document lives (committed, checked by a test). */
export const ASYNCAPI_FILE = fileURLToPath(new URL('../asyncapi.json', import.meta.url));
