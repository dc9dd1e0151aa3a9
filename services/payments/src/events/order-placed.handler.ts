import type { ordersTopic } from '@emporium/contracts';
import { OrderPlaced } from '@emporium/contracts';
import type { EventHandler, Metrics, TopicData } from '@emporium/platform';
import { settle, startPayment } from '../domain/payment.js';
import type { PspGateway } from '../gateways/psp.gateway.js';
import type { PaymentsRepository } from '../repositories/payments.repository.js';

/** Payments' handler of `orders.v1`: authorises every placed order exactly once. */
export function ordersHandler(
  payments: PaymentsRepository,
  psp: PspGateway,
  metrics: Metrics,
  now: () => Date = () => new Date(),
): EventHandler<TopicData<typeof ordersTopic>> {
  const paymentsTotal = metrics.counter({
    name: 'payments_total',
    help: 'Payments recorded, by outcome (AUTHORIZED or DECLINED).',
    labelNames: ['status'] as const,
  });
  const amountTotal = metrics.counter({
    name: 'payments_amount_minor_total',
    help: 'Sum of recorded payment amounts in minor units, by currency and outcome.',
    labelNames: ['currency', 'status'] as const,
  });
  return async (event, context) => {
    // orders.v1 also carries OrderCancelled, which happens after payment and needs nothing here.
    if (!OrderPlaced.is(event)) return;
    const { orderId, userId, totalMinor, currency } = event.data;
    // A redelivery must not ask the provider to charge again: an order is paid at most once.
    const existing = await payments.find(orderId);
    if (existing && existing.status !== 'PENDING') {
      context.logger.info({ orderId, status: existing.status }, 'order already paid');
      return;
    }
    // PENDING is stored before the provider is asked: a crash after its answer, a duplicate
    // delivery or a second member (a rebalance) resumes this payment with the same id, which
    // the provider takes as its idempotency key and answers without charging again.
    const pending =
      existing ??
      (await payments.claim(
        startPayment({ orderId, userId, amountMinor: totalMinor, currency }, now()),
      ));
    if (pending.status !== 'PENDING') {
      context.logger.info({ orderId, status: pending.status }, 'order already paid');
      return;
    }
    const payment = settle(pending, await psp.authorize(pending, pending.paymentId));
    // Only one attempt moves it from PENDING; the others find it settled and write nothing.
    const settledHere = await payments.settle(payment);
    if (settledHere) {
      paymentsTotal.inc({ status: payment.status });
      amountTotal.inc({ currency, status: payment.status }, payment.amountMinor);
    }
    context.logger.info(
      { orderId, status: payment.status, reason: payment.reason, settledHere },
      settledHere ? 'payment recorded' : 'order already paid',
    );
  };
}
