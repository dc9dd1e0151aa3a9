import { randomUUID } from 'node:crypto';

/** The OrderPlaced data the orders service puts in an order's outbox (contracts' schema). */
export interface PlacedData {
  readonly orderId: string;
  readonly userId: string;
  readonly lines: readonly {
    readonly sku: string;
    readonly name: string;
    readonly quantity: number;
    readonly unitPriceMinor: number;
  }[];
  readonly totalMinor: number;
  readonly currency: string;
  readonly placedAt: string;
}

/** The CloudEvents type of OrderPlaced, spelled out so the raw side need not load contracts. */
export const ORDER_PLACED_TYPE = 'com.emporium.orders.OrderPlaced';

/** The CloudEvents source of the orders service, which owns the outbox being relayed. */
export const ORDERS_SOURCE = '/emporium/orders';

const PRODUCTS = [
  { sku: 'MUG-CER-350', name: 'Ceramic mug, 350 ml', unitPriceMinor: 1250 },
  { sku: 'TEE-ORG-M', name: 'Organic cotton tee, M', unitPriceMinor: 2400 },
  { sku: 'BAG-CNV-01', name: 'Canvas tote bag', unitPriceMinor: 1800 },
] as const;

/**
 * The n-th order's OrderPlaced data: one to three lines, so both sides of the pair send the
 * same mix of sizes (about 250–400 bytes of JSON), as checkouts of a small basket do.
 */
export function placedData(n: number): PlacedData {
  const lines = PRODUCTS.slice(0, 1 + (n % PRODUCTS.length)).map((p, i) => ({
    ...p,
    quantity: 1 + ((n + i) % 3),
  }));
  return {
    orderId: randomUUID(),
    userId: `user-${String(n % 500).padStart(4, '0')}`,
    lines,
    totalMinor: lines.reduce((sum, l) => sum + l.quantity * l.unitPriceMinor, 0),
    currency: 'EUR',
    placedAt: new Date().toISOString(),
  };
}
