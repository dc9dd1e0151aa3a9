import type { catalogTopic } from '@emporium/contracts';
import { ProductUpdated } from '@emporium/contracts';
import type { EventHandler, TopicData } from '@emporium/platform';
import type { InventoryMetrics } from '../inventory.metrics.js';
import type { StockRepository } from '../repositories/stock.repository.js';

/** Inventory's handler of `catalog.v1`: opens a stock record for every sku it has not seen. */
export function catalogHandler(
  stock: StockRepository,
  initialStock: number,
  metrics: InventoryMetrics,
  now: () => Date = () => new Date(),
): EventHandler<TopicData<typeof catalogTopic>> {
  return async (event, context) => {
    if (!ProductUpdated.is(event)) return;
    const { sku, productId } = event.data;
    // An upsert with $setOnInsert: a price change or a redelivery never resets counted stock.
    const opened = await stock.open(sku, initialStock, now());
    if (opened) metrics.stockOpened.inc();
    context.logger.info(
      { sku, productId, opened },
      opened ? 'stock record opened' : 'stock record already exists',
    );
  };
}
