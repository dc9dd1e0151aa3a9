// Wiring only: config → runtime → store client and runner → app → serve → run.
import { createServiceRuntime } from '@emporium/platform';
import { buildApp } from './app.js';
import { loadLoadgenConfig } from './config.js';
import { SUMMARY_PREFIX } from './domain/summary.js';
import { storeGateway } from './gateways/store.gateway.js';
import { loadgenMetrics } from './loadgen.metrics.js';
import { createRunner } from './runner.js';

const config = loadLoadgenConfig(process.env);
const runtime = createServiceRuntime('loadgen', config);
const { logger, metrics, readiness, faults, lifecycle } = runtime;

const store = storeGateway({
  baseUrl: config.UPSTREAM_GATEWAY_URL,
  tokenUrl: config.LOADGEN_TOKEN_URL,
  timeoutMs: config.LOADGEN_REQUEST_TIMEOUT_MS,
});
const runner = createRunner({
  rps: config.LOADGEN_RPS,
  concurrency: config.LOADGEN_CONCURRENCY,
  users: config.LOADGEN_USERS,
  checkoutRatio: config.LOADGEN_CHECKOUT_RATIO,
  store,
  metrics: loadgenMetrics(metrics),
  logger,
});

// A worker: after the server drained, stop sending, wait for the answers in flight, then
// report. The summary line goes to stdout as one line so `npm run load` can parse it.
lifecycle.onShutdown('workers', 'loadgen runner', async () => {
  const summary = await runner.stop();
  logger.info({ summary }, 'loadgen finished');
  process.stdout.write(`${SUMMARY_PREFIX}${JSON.stringify(summary)}\n`);
});

const { app } = buildApp(config, { stats: runner, metrics, logger, readiness, faults });
await runtime.serve(app, config.PORT);
runner.start();
logger.info(
  {
    gateway: config.UPSTREAM_GATEWAY_URL,
    rps: config.LOADGEN_RPS,
    concurrency: config.LOADGEN_CONCURRENCY,
    users: config.LOADGEN_USERS.length,
    durationMs: config.LOADGEN_DURATION ?? null,
  },
  'loadgen started',
);
const duration = config.LOADGEN_DURATION;
if (duration !== undefined) {
  // A finite run ends the way SIGTERM would, through the same ordered shutdown.
  setTimeout(() => void lifecycle.shutdown('duration elapsed'), duration);
}
