import { callerOf, mayActFor } from '@emporium/platform';
import { Id } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
import { z } from 'zod';
import { notificationsForbidden } from '../errors.js';
import type { NotificationsRepository } from '../repositories/notifications.repository.js';

/** A notification as the API returns it. */
export const NotificationSchema = z
  .object({
    notificationId: z.string(),
    userId: z.string(),
    orderId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    message: z.string(),
    createdAt: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Notification' });

/** The list of a customer's notifications. */
export const NotificationListSchema = z
  .object({ items: z.array(NotificationSchema) })
  .meta({ id: 'NotificationList' });

/** GET /notifications?userId=. */
export function notificationRoutes(routes: Routes, notifications: NotificationsRepository): void {
  routes.get(
    '/notifications',
    {
      access: 'user',
      summary: "A customer's notifications, oldest first (at most the latest 500)",
      description:
        'A customer (the user of the bearer token) may read only their own notifications (403 ' +
        'otherwise); admins read anyone’s.',
      query: z.object({ userId: Id }),
      responses: { 200: NotificationListSchema, 403: 'problem' },
    },
    async (req, res) => {
      const { userId } = req.query;
      if (!mayActFor(callerOf(req), userId)) throw notificationsForbidden(userId);
      res.json({ items: await notifications.listByUser(userId) });
    },
  );
}
