import { z } from 'zod';
import { AmountMinor, Currency, Sku } from '../events/common.js';

/** The largest price accepted, in minor units (one million in the major unit). */
export const MAX_PRICE_MINOR = 100_000_000;

/** A category slug: lower-case words joined by dashes (`coffee`, `pour-over`). */
export const Category = z
  .string()
  .max(50)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected a lower-case slug like pour-over');

/** An image reference: a path on the store's own host (`/images/MUG-CER-350.jpg`) or an http(s) URL. */
export const ImageUrl = z
  .string()
  .max(500)
  .regex(/^(https?:\/\/|\/)[^\s]+$/, 'expected a /path or an http(s) URL');

/**
 * The fields a client sends to create a product: catalog's `POST /products` body, and the
 * gateway's `POST /api/products`, which documents and checks the same.
 */
export const ProductInputSchema = z
  .object({
    sku: Sku,
    name: z.string().trim().min(1).max(200),
    description: z.string().trim().max(2000).default(''),
    priceMinor: AmountMinor.max(MAX_PRICE_MINOR),
    currency: Currency,
    categories: z.array(Category).max(20).default([]),
    images: z.array(ImageUrl).max(10).default([]),
  })
  .meta({ id: 'ProductInput' });

/**
 * A full replacement of a product. The SKU may be sent (e.g. a product read back and edited)
 * but must not change; `id` and `updatedAt`, if sent, are ignored.
 */
export const ProductReplacementSchema = ProductInputSchema.extend({ sku: Sku.optional() }).meta({
  id: 'ProductReplacement',
});
