import type { UpstreamClient } from '@emporium/platform';
import { z } from 'zod';
import type { CartLine } from '../domain/order.js';
import { upstreamRejected } from '../errors.js';

/** The part of inventory's reservation answer orders relies on. */
const ReservationSchema = z.object({ orderId: z.string(), status: z.string() });

/** Inventory's 409 problem, whose `skus` names the short or unknown skus. */
const InsufficientStockSchema = z.object({
  code: z.literal('INSUFFICIENT_STOCK'),
  skus: z.array(z.string()).default([]),
});

/** The outcome of a reservation: done, or refused for these skus (nothing reserved). */
export type ReservationResult = { ok: true } | { ok: false; skus: string[] };

/** The inventory service, as orders uses it. */
export interface InventoryGateway {
  /** Reserves the lines' stock for the order; safe to repeat (the order id is the key). */
  reserve(orderId: string, lines: readonly CartLine[]): Promise<ReservationResult>;
}

/** Creates the inventory gateway over an upstream client of the inventory service. */
export function inventoryGateway(client: UpstreamClient): InventoryGateway {
  return {
    reserve: async (orderId, lines) => {
      const response = await client.request({
        method: 'POST',
        path: '/reservations',
        body: { orderId, lines: lines.map(({ sku, quantity }) => ({ sku, quantity })) },
        // Inventory answers a repeated order id with the existing reservation, so a POST lost
        // to a dropped connection may be sent again without reserving twice. The header says
        // so to whoever retries: this client, and behind a sidecar Envoy, which retries a POST
        // only with an Idempotency-Key (the apps retry nothing there).
        headers: { 'idempotency-key': orderId },
        schema: ReservationSchema,
      });
      if (response.ok) return { ok: true };
      if (response.status === 409) {
        const problem = InsufficientStockSchema.safeParse(response.body);
        if (problem.success) return { ok: false, skus: problem.data.skus };
      }
      throw upstreamRejected(client.name, response.status);
    },
  };
}
