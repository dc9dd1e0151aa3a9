import { catalogTopic, ProductUpdated, type EventData } from '@emporium/contracts';
import { buildOutboxEvent, type OutboxEvent } from '@emporium/platform';
import type { Product } from '../domain/product.js';

/** The data of a ProductUpdated event. */
export type ProductUpdatedData = EventData<typeof ProductUpdated>;

/**
 * The ProductUpdated outbox event of a product's current state, keyed by product id so one
 * product's changes stay in order. The data is checked against the contract here, at write
 * time: an invalid event would otherwise sit in the outbox failing every relay round.
 */
export function productUpdatedEvent(product: Product): OutboxEvent {
  const data: ProductUpdatedData = ProductUpdated.schema.parse({
    productId: product.id,
    sku: product.sku,
    name: product.name,
    priceMinor: product.priceMinor,
    currency: product.currency,
    categories: product.categories,
    updatedAt: product.updatedAt,
  });
  return buildOutboxEvent({
    topic: catalogTopic.name,
    type: ProductUpdated.type,
    key: product.id,
    data,
    time: new Date(product.updatedAt),
  });
}
