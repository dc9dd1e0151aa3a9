/** The units of one sku: free to reserve, held for open orders, and gone with shipments. */
export interface StockLevel {
  sku: string;
  available: number;
  reserved: number;
  committed: number;
  updatedAt: string;
}

/** What one line of a reservation attempt found. */
export type TakeResult = 'taken' | 'held' | 'short';

/** The stock record of a sku inventory has just heard of. */
export function openingStock(sku: string, available: number, now: Date): StockLevel {
  return { sku, available, reserved: 0, committed: 0, updatedAt: now.toISOString() };
}

/**
 * The skus of an attempt that could not be held (short or unknown), in line order. Empty means
 * the whole order is held.
 */
export function shortSkus(results: readonly { sku: string; result: TakeResult }[]): string[] {
  return results.filter((line) => line.result === 'short').map((line) => line.sku);
}
