import { AmountMinor, Currency, Id, Sku } from '@emporium/contracts';
import { z } from 'zod';

/** catalog's Product, as the gateway forwards it. */
export const ProductSchema = z
  .looseObject({
    id: Id,
    sku: Sku,
    name: z.string(),
    description: z.string(),
    priceMinor: AmountMinor,
    currency: Currency,
    categories: z.array(z.string()),
    images: z.array(z.string()),
    updatedAt: z.string(),
  })
  .meta({ id: 'Product' });

/** A page of products. */
export const ProductPageSchema = z
  .object({
    items: z.array(ProductSchema),
    total: z.int().min(0),
    limit: z.int(),
    offset: z.int(),
  })
  .meta({ id: 'ProductList' });

/** The aggregated product page: the product and what is in stock (null when unknown right now). */
export const ProductViewSchema = z
  .object({
    product: ProductSchema,
    stock: z.object({ available: z.int().min(0) }).nullable(),
  })
  .meta({ id: 'ProductView' });

/** A cart line. */
const CartLineSchema = z.object({
  sku: Sku,
  name: z.string(),
  quantity: z.int(),
  unitPriceMinor: AmountMinor,
});

/** The caller's cart. */
export const CartSchema = z
  .looseObject({
    userId: Id,
    lines: z.array(CartLineSchema),
    currency: Currency,
    totalMinor: AmountMinor,
    updatedAt: z.string(),
  })
  .meta({ id: 'Cart' });

/** An order. */
export const OrderSchema = z
  .looseObject({
    orderId: Id,
    userId: Id,
    status: z.enum(['PENDING', 'PAID', 'SHIPPED', 'CANCELLED']),
    lines: z.array(CartLineSchema),
    totalMinor: AmountMinor,
    currency: Currency,
    createdAt: z.string(),
    updatedAt: z.string(),
    history: z.array(
      z.object({ status: z.string(), at: z.string(), reason: z.string().optional() }),
    ),
    trackingId: z.string().optional(),
    cancelReason: z.string().optional(),
  })
  .meta({ id: 'Order' });

/** The answer to placing an order. */
export const OrderAcceptedSchema = z
  .object({ orderId: Id, status: z.literal('PENDING') })
  .meta({ id: 'OrderAccepted' });

/** The caller's orders. */
export const OrderListSchema = z.object({ items: z.array(OrderSchema) }).meta({ id: 'OrderList' });

/** An order's shipment. */
export const ShipmentSchema = z
  .looseObject({ orderId: Id, trackingId: z.string(), carrier: z.string(), status: z.string() })
  .meta({ id: 'Shipment' });

/** An order's payment. */
export const PaymentSchema = z
  .looseObject({
    paymentId: Id,
    orderId: Id,
    amountMinor: AmountMinor,
    currency: Currency,
    status: z.enum(['AUTHORIZED', 'DECLINED']),
  })
  .meta({ id: 'Payment' });

/** The caller's notifications, oldest first. */
export const NotificationListSchema = z
  .object({
    items: z.array(
      z.looseObject({
        notificationId: Id,
        orderId: Id,
        eventType: z.string(),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'NotificationList' });

/** A stock record. */
export const StockSchema = z
  .object({ sku: Sku, available: z.int(), reserved: z.int(), committed: z.int() })
  .meta({ id: 'Stock' });
