import { AppError, PlatformErrorCode } from '@emporium/platform';

/** Notifications' error codes, stable for clients. */
export const NotificationsErrorCode = {
  FORBIDDEN: PlatformErrorCode.FORBIDDEN,
} as const;

/** A customer asked for another customer's notifications. */
export function notificationsForbidden(userId: string): AppError {
  return new AppError(
    NotificationsErrorCode.FORBIDDEN,
    403,
    `Only ${userId} (or an admin) may read ${userId}'s notifications.`,
  );
}
