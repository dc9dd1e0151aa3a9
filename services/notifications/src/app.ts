import { type AppDeps, callersFor, createHttpApp, type HttpApp } from '@emporium/platform';
import type { Config } from './config.js';
import type { NotificationsRepository } from './repositories/notifications.repository.js';
import { notificationRoutes } from './routes/notifications.routes.js';

/** What the app needs from the outside world; tests pass real clients. */
export interface Deps extends AppDeps {
  notifications: NotificationsRepository;
}

/** Builds notifications' HTTP app (never listens). */
export function buildApp(config: Readonly<Config>, deps: Deps): HttpApp {
  const http = createHttpApp({
    service: 'notifications',
    callers: callersFor(config, 'notifications'),
    version: config.SERVICE_VERSION,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimit: config.HTTP_BODY_LIMIT,
    openapi: {
      title: 'Emporium notifications',
      version: config.SERVICE_VERSION,
      description:
        'Customer notifications built from order, payment and shipment events. Callers send ' +
        'the user’s bearer token (the gateway passes it on), verified here.',
    },
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  notificationRoutes(http.routes, deps.notifications);
  return http;
}
