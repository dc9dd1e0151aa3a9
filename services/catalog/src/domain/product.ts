import { randomUUID } from 'node:crypto';
import {
  AmountMinor,
  Category,
  Currency,
  Id,
  ImageUrl,
  MAX_PRICE_MINOR,
  Sku,
} from '@emporium/contracts';
import { z } from 'zod';

/** A product as the API returns it and the cache holds it. */
export const ProductSchema = z
  .object({
    id: Id,
    sku: Sku,
    name: z.string().min(1).max(200),
    description: z.string().max(2000),
    priceMinor: AmountMinor.max(MAX_PRICE_MINOR),
    currency: Currency,
    categories: z.array(Category).max(20),
    images: z.array(ImageUrl).max(10),
    updatedAt: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Product' });

/** One product of the catalogue. */
export type Product = z.output<typeof ProductSchema>;

/** What a product is made from: everything but the generated id and the timestamp. */
export type ProductDraft = Omit<Product, 'id' | 'updatedAt'>;

/** A full replacement of a product's fields; the SKU may be repeated but never changed. */
export type ProductChanges = Omit<ProductDraft, 'sku'> & { sku?: string | undefined };

/** A new product id: a UUID (letters, digits and dashes, so a valid contracts `Id`). */
export function newProductId(): string {
  return randomUUID();
}

/** Trims text and drops duplicate categories (keeping their order), so equal input is equal data. */
function normalise(draft: Omit<ProductDraft, 'sku'>): Omit<ProductDraft, 'sku'> {
  return {
    name: draft.name.trim(),
    description: draft.description.trim(),
    priceMinor: draft.priceMinor,
    currency: draft.currency,
    categories: [...new Set(draft.categories)],
    images: [...new Set(draft.images)],
  };
}

/** Creates a product from a draft, updated now. */
export function createProduct(draft: ProductDraft, now: Date, id = newProductId()): Product {
  return { id, sku: draft.sku, ...normalise(draft), updatedAt: now.toISOString() };
}

/** The outcome of {@link reviseProduct}. */
export type Revision =
  | { kind: 'revised'; product: Product }
  | { kind: 'unchanged'; product: Product }
  | { kind: 'sku-changed'; current: string; requested: string };

/** True when two products carry the same data (the timestamp aside). */
function sameData(a: Product, b: Product): boolean {
  const { updatedAt: _a, ...left } = a;
  const { updatedAt: _b, ...right } = b;
  return JSON.stringify(left) === JSON.stringify(right);
}

/**
 * Applies a full replacement to a product. The SKU is the product's identity for stock,
 * carts and orders, so a different SKU is refused rather than silently orphaning those; an
 * update that changes nothing keeps the old timestamp and needs no ProductUpdated event.
 */
export function reviseProduct(current: Product, changes: ProductChanges, now: Date): Revision {
  if (changes.sku !== undefined && changes.sku !== current.sku) {
    return { kind: 'sku-changed', current: current.sku, requested: changes.sku };
  }
  const revised: Product = {
    id: current.id,
    sku: current.sku,
    ...normalise(changes),
    updatedAt: now.toISOString(),
  };
  if (sameData(current, revised)) return { kind: 'unchanged', product: current };
  return { kind: 'revised', product: revised };
}
