import { z } from 'zod';
import { eventTopic, eventType } from '../event-type.js';
import { AmountMinor, Currency, Id, Sku, Timestamp } from './common.js';

/** A product was created or changed; caches of it are stale. */
export const ProductUpdated = eventType(
  'catalog',
  'ProductUpdated',
  'A product was created or changed.',
  z.object({
    productId: Id,
    sku: Sku,
    name: z.string().min(1).max(200),
    priceMinor: AmountMinor,
    currency: Currency,
    categories: z.array(z.string().min(1).max(50)).max(20),
    updatedAt: Timestamp,
  }),
);

/** `catalog.v1`: product changes, keyed by product id. */
export const catalogTopic = eventTopic('catalog.v1', {
  summary: 'Product changes published by catalog.',
  producer: 'catalog',
  events: [ProductUpdated],
});
