import { Id, Sku } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
import { z } from 'zod';
import { isVisible, VISIBLE_STATUSES, type VisibleReservation } from '../domain/reservation.js';
import {
  insufficientStock,
  reservationInProgress,
  reservationMismatch,
  reservationNotFound,
} from '../errors.js';
import type { InventoryMetrics } from '../inventory.metrics.js';
import type { ReservationsRepository } from '../repositories/reservations.repository.js';

/** One line of a reservation. */
export const ReservationLineSchema = z
  .object({ sku: Sku, quantity: z.number().int().min(1).max(1000) })
  .meta({ id: 'ReservationLine' });

/** The body of `POST /reservations`; the order id is the idempotency key. */
export const ReserveRequestSchema = z
  .object({ orderId: Id, lines: z.array(ReservationLineSchema).min(1).max(100) })
  .meta({ id: 'ReserveRequest' });

/** A reservation as the API returns it. */
export const ReservationSchema = z
  .object({
    orderId: Id,
    status: z.enum(VISIBLE_STATUSES),
    lines: z.array(ReservationLineSchema),
    expiresAt: z.iso.datetime().optional().meta({
      description:
        'While RESERVED: when the units go back unless the order is seen placed (OrderPlaced).',
    }),
  })
  .meta({ id: 'Reservation' });

/** Seconds a client should wait before repeating a request that met an attempt in progress. */
const IN_PROGRESS_RETRY_AFTER_SECONDS = 1;

const toJson = (reservation: VisibleReservation): z.input<typeof ReservationSchema> => ({
  orderId: reservation.orderId,
  status: reservation.status,
  lines: reservation.lines.map(({ sku, quantity }) => ({ sku, quantity })),
  ...(reservation.status === 'RESERVED' && reservation.expiresAt
    ? { expiresAt: reservation.expiresAt }
    : {}),
});

/** POST /reservations and GET /reservations/:orderId. */
export function reservationRoutes(
  routes: Routes,
  reservations: ReservationsRepository,
  metrics: InventoryMetrics,
): void {
  routes.post(
    '/reservations',
    {
      access: { services: ['orders'] },
      summary: "Reserves all lines of an order or none (idempotent by the order's id)",
      description:
        'Called by orders only, with its workload token for inventory (401 without a valid token, 403 CALLER_NOT_ALLOWED from any other caller). 201 when reserved now; 200 with the existing reservation when the order id was seen before with the same lines; 409 RESERVATION_MISMATCH (`lines` are the ones held) when it was seen with other lines; 409 INSUFFICIENT_STOCK (`skus` names the short or unknown skus, nothing is held); 409 RESERVATION_IN_PROGRESS with Retry-After while another request for the same order is still reserving. A sku named twice holds the sum.',
      body: ReserveRequestSchema,
      responses: { 200: ReservationSchema, 201: ReservationSchema, 409: 'problem' },
    },
    async (req, res) => {
      const { orderId, lines } = req.body;
      const outcome = await reservations.reserve(orderId, lines);
      switch (outcome.kind) {
        case 'created':
          metrics.reservations.inc({ outcome: 'reserved' });
          res.status(201).location(`/reservations/${orderId}`).json(toJson(outcome.reservation));
          return;
        case 'existing':
          metrics.reservations.inc({ outcome: 'replayed' });
          res.status(200).json(toJson(outcome.reservation));
          return;
        case 'mismatch':
          metrics.reservations.inc({ outcome: 'mismatch' });
          throw reservationMismatch(orderId, outcome.reservation.lines);
        case 'short':
          metrics.reservations.inc({ outcome: 'insufficient_stock' });
          throw insufficientStock(outcome.skus);
        case 'in-progress':
          metrics.reservations.inc({ outcome: 'in_progress' });
          throw reservationInProgress(orderId, IN_PROGRESS_RETRY_AFTER_SECONDS);
      }
    },
  );
  routes.get(
    '/reservations/:orderId',
    {
      access: 'admin',
      summary: "The order's reservation (admin)",
      params: z.object({ orderId: Id }),
      responses: { 200: ReservationSchema, 404: 'problem' },
    },
    async (req, res) => {
      const reservation = await reservations.find(req.params.orderId);
      // An attempt still reserving holds nothing for sure yet, so it is not shown.
      if (!reservation || !isVisible(reservation)) {
        throw reservationNotFound(req.params.orderId);
      }
      res.json(toJson(reservation));
    },
  );
}
