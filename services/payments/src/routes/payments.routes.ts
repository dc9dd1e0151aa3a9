import { callerOf, mayActFor } from '@emporium/platform';
import { AmountMinor, Currency, Id } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
import { z } from 'zod';
import { paymentNotFound } from '../errors.js';
import type { PaymentsRepository } from '../repositories/payments.repository.js';

/** A payment as the API returns it. */
export const PaymentSchema = z
  .object({
    paymentId: z.string(),
    orderId: z.string(),
    userId: z.string(),
    amountMinor: AmountMinor,
    currency: Currency,
    status: z.enum(['AUTHORIZED', 'DECLINED']),
    reason: z.string().optional(),
    createdAt: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Payment' });

/** GET /payments/:orderId. */
export function paymentRoutes(routes: Routes, payments: PaymentsRepository): void {
  routes.get(
    '/payments/:orderId',
    {
      access: 'user',
      summary: "The order's payment, once the provider answered",
      description:
        'A customer (the user of the bearer token) sees only their own payments; another ' +
        "customer's is answered 404 so order ids cannot be probed. Admins see all.",
      params: z.object({ orderId: Id }),
      responses: { 200: PaymentSchema, 404: 'problem' },
    },
    async (req, res) => {
      const payment = await payments.findByOrderId(req.params.orderId);
      if (!payment || !mayActFor(callerOf(req), payment.userId))
        throw paymentNotFound(req.params.orderId);
      res.json(payment);
    },
  );
}
