import { type AppDeps, callersFor, createHttpApp, type HttpApp } from '@emporium/platform';
import type { Config } from './config.js';
import type { PaymentsRepository } from './repositories/payments.repository.js';
import { paymentRoutes } from './routes/payments.routes.js';

/** What the app needs from the outside world; tests pass real clients. */
export interface Deps extends AppDeps {
  payments: PaymentsRepository;
}

/** Builds payments' HTTP app (never listens). */
export function buildApp(config: Readonly<Config>, deps: Deps): HttpApp {
  const http = createHttpApp({
    service: 'payments',
    callers: callersFor(config, 'payments'),
    version: config.SERVICE_VERSION,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimit: config.HTTP_BODY_LIMIT,
    openapi: {
      title: 'Emporium payments',
      version: config.SERVICE_VERSION,
      description:
        'Payment authorisation of placed orders (a simulated provider). Callers send the ' +
        'user’s bearer token (the gateway passes it on), verified here.',
    },
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  paymentRoutes(http.routes, deps.payments);
  return http;
}
