import { createHttpApp, type HttpApp, type AppDeps } from '@emporium/platform';
import type { Config } from './config.js';
import { statsRoutes, type StatsSource } from './routes/stats.routes.js';

/** What the app needs from the outside world; tests pass a real runner. */
export interface Deps extends AppDeps {
  /** The runner whose summary `GET /stats` shows. */
  stats: StatsSource;
}

/** Builds loadgen's HTTP app (never listens): probes, /metrics, /openapi.json and /stats. */
export function buildApp(config: Readonly<Config>, deps: Deps): HttpApp {
  const http = createHttpApp({
    service: 'loadgen',
    version: config.SERVICE_VERSION,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimit: config.HTTP_BODY_LIMIT,
    openapi: {
      title: 'Emporium loadgen',
      version: config.SERVICE_VERSION,
      description:
        'Synthetic shoppers that drive the store through the gateway at a set rate. Its own ' +
        'counters are on /metrics (loadgen_*) and the run so far on /stats.',
    },
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  statsRoutes(http.routes, deps.stats);
  return http;
}
