import type { paymentsTopic } from '@emporium/contracts';
import { PaymentAuthorized } from '@emporium/contracts';
import type { EventHandler, TopicData } from '@emporium/platform';
import { dispatch } from '../domain/shipment.js';
import type { ShipmentsRepository } from '../repositories/shipments.repository.js';

/** Shipping's handler of `payments.v1`: ships every authorised order once. */
export function paymentsHandler(
  shipments: ShipmentsRepository,
  carrier: string,
  now: () => Date = () => new Date(),
): EventHandler<TopicData<typeof paymentsTopic>> {
  return async (event, context) => {
    // payments.v1 also carries PaymentDeclined, which shipping has nothing to do with.
    if (!PaymentAuthorized.is(event)) return;
    const { orderId, userId } = event.data;
    const created = await shipments.createDispatched(dispatch({ orderId, userId }, carrier, now()));
    // `_id` = order id turns a redelivered PaymentAuthorized into a no-op.
    context.logger.info(
      { orderId, created },
      created ? 'shipment dispatched' : 'order already shipped',
    );
  };
}
