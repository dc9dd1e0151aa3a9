import { z } from 'zod';

/** A UUID or other opaque id, as Emporium generates them. */
export const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'expected an id of letters, digits, _ or -');

/** A stock-keeping unit: upper-case letters, digits and dashes (e.g. `MUG-CER-350`). */
export const Sku = z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,39}$/, 'expected a SKU like MUG-CER-350');

/** An amount in minor units (cents), never a float. */
export const AmountMinor = z.number().int().min(0);

/** An ISO 4217 currency code. */
export const Currency = z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code like EUR');

/** An RFC 3339 timestamp. */
export const Timestamp = z.iso.datetime({ offset: true });

/** One line of an order as events carry it. */
export const OrderLine = z.object({
  sku: Sku,
  name: z.string().min(1).max(200),
  quantity: z.number().int().min(1).max(1000),
  unitPriceMinor: AmountMinor,
});
