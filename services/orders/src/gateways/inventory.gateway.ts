import type { UpstreamClient } from '@emporium/platform';
import { z } from 'zod';
import type { CartLine } from '../domain/order.js';
import { upstreamRejected } from '../errors.js';

/** A reserved line as inventory answers it. */
const LineSchema = z.object({ sku: z.string(), quantity: z.number() });

/** The part of inventory's reservation answer orders relies on: what it holds for the order. */
const ReservationSchema = z.object({
  orderId: z.string(),
  status: z.string(),
  lines: z.array(LineSchema),
});

/** Inventory's 409 problem when the order id was reserved before with other lines. */
const MismatchSchema = z.object({ code: z.literal('RESERVATION_MISMATCH') });

/** Inventory's 409 problem, whose `skus` names the short or unknown skus. */
const InsufficientStockSchema = z.object({
  code: z.literal('INSUFFICIENT_STOCK'),
  skus: z.array(z.string()).default([]),
});

/**
 * The outcome of a reservation: done; refused for these skus (nothing reserved); or the order
 * id already holds other lines (a retry with the same Idempotency-Key after the cart changed).
 */
export type ReservationResult =
  { ok: true } | { ok: false; skus: string[] } | { ok: false; mismatch: true };

/** Units per sku, so two lists naming the same units in any order or split compare equal. */
function units(lines: readonly { sku: string; quantity: number }[]): string {
  const sums = new Map<string, number>();
  for (const { sku, quantity } of lines) sums.set(sku, (sums.get(sku) ?? 0) + quantity);
  return JSON.stringify([...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The inventory service, as orders uses it. */
export interface InventoryGateway {
  /** Reserves the lines' stock for the order; safe to repeat (the order id is the key). */
  reserve(orderId: string, lines: readonly CartLine[]): Promise<ReservationResult>;
}

/**
 * Creates the inventory gateway over an upstream client of the inventory service. Reservations
 * are orders' own business: the client calls with orders' own workload token (audience
 * `inventory`, see upstreamClients' `tokens`), which inventory verifies; no user's would do.
 */
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
      if (response.ok) {
        // Any 2xx is not enough: the reservation must hold exactly these lines, or the order
        // would promise units nobody holds.
        if (units(response.body.lines) !== units(lines)) return { ok: false, mismatch: true };
        return { ok: true };
      }
      if (response.status === 409) {
        const problem = InsufficientStockSchema.safeParse(response.body);
        if (problem.success) return { ok: false, skus: problem.data.skus };
        if (MismatchSchema.safeParse(response.body).success) return { ok: false, mismatch: true };
      }
      throw upstreamRejected(client.name, response.status);
    },
  };
}
