import { Sku } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
import { z } from 'zod';
import { stockNotFound } from '../errors.js';
import type { StockLevel } from '../domain/stock.js';
import type { StockRepository } from '../repositories/stock.repository.js';

/** Units of one sku as the API returns them. */
export const StockSchema = z
  .object({
    sku: Sku,
    available: z.number().int().min(0),
    reserved: z.number().int().min(0),
    committed: z.number().int().min(0),
  })
  .meta({ id: 'Stock' });

/** The body of `PUT /stock/:sku`: the units free to reserve from now on. */
export const SetStockSchema = z
  .object({ available: z.number().int().min(0).max(1_000_000_000) })
  .meta({ id: 'SetStock' });

const toJson = (stock: StockLevel): z.output<typeof StockSchema> => ({
  sku: stock.sku,
  available: stock.available,
  reserved: stock.reserved,
  committed: stock.committed,
});

/** GET /stock/:sku and PUT /stock/:sku (admin). */
export function stockRoutes(routes: Routes, stock: StockRepository): void {
  routes.get(
    '/stock/:sku',
    {
      access: 'anonymous',
      summary: 'Units of a sku: available, reserved for open orders, committed to shipments',
      params: z.object({ sku: Sku }),
      responses: { 200: StockSchema, 404: 'problem' },
    },
    async (req, res) => {
      const level = await stock.find(req.params.sku);
      if (!level) throw stockNotFound(req.params.sku);
      res.json(toJson(level));
    },
  );
  routes.put(
    '/stock/:sku',
    {
      access: 'admin',
      summary: 'Sets the available units of a sku (admin; reserved and committed stay)',
      description:
        'Needs a bearer token of a user with the `admin` role (else 401, or 403 without the role). Creates the record of an unknown sku.',
      params: z.object({ sku: Sku }),
      body: SetStockSchema,
      responses: { 200: StockSchema, 401: 'problem', 403: 'problem' },
    },
    async (req, res) => {
      const level = await stock.setAvailable(req.params.sku, req.body.available, new Date());
      res.json(toJson(level));
    },
  );
}
