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

/**
 * May the caller see a customer's data? The gateway verifies the JWT and forwards `x-user-id`
 * and `x-user-roles`; a call without `x-user-id` comes from inside the cluster and is trusted.
 */
function maySee(req: { get(header: string): string | undefined }, userId: string): boolean {
  const caller = req.get('x-user-id');
  if (caller === undefined) return true;
  const roles = (req.get('x-user-roles') ?? '').split(',').map((role) => role.trim());
  return caller === userId || roles.includes('admin');
}

/** GET /payments/:orderId. */
export function paymentRoutes(routes: Routes, payments: PaymentsRepository): void {
  routes.get(
    '/payments/:orderId',
    {
      summary: "The order's payment, once the provider answered",
      description:
        'A customer (x-user-id from the gateway) sees only their own payments; another ' +
        "customer's is answered 404 so order ids cannot be probed. Admins see all.",
      params: z.object({ orderId: Id }),
      responses: { 200: PaymentSchema, 404: 'problem' },
    },
    async (req, res) => {
      const payment = await payments.findByOrderId(req.params.orderId);
      if (!payment || !maySee(req, payment.userId)) throw paymentNotFound(req.params.orderId);
      res.json(payment);
    },
  );
}
