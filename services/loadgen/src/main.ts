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

// SIGTERM during the settle phase cuts it short: the summary then says how far it got.
const settleAbort = new AbortController();
/** The settle phase, once a finite run's load is over; undefined until then. */
let settling: Promise<unknown> | undefined;

// A worker: after the server drained, stop sending, wait for the answers in flight (and for
// a settle phase in progress to notice it was cut short), then report. The summary line goes
// to stdout as one line so `npm run load` can parse it.
lifecycle.onShutdown('workers', 'loadgen runner', async () => {
  settleAbort.abort();
  // Stopped before the load was over: no settle phase, and the summary says so.
  settling ??= runner.settle({ limitMs: 0 });
  await settling;
  const summary = runner.summary();
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
    settleMs: config.LOADGEN_DURATION === undefined ? null : config.LOADGEN_SETTLE,
  },
  'loadgen started',
);
const duration = config.LOADGEN_DURATION;
if (duration !== undefined) {
  // A finite run stops the load, reads its orders back until they are final (the server stays
  // up, so /stats shows the settle phase), then ends the way SIGTERM would, through the same
  // ordered shutdown.
  setTimeout(() => {
    settling = runner
      .settle({
        limitMs: config.LOADGEN_SETTLE,
        concurrency: config.LOADGEN_SETTLE_CONCURRENCY,
        signal: settleAbort.signal,
      })
      // A bug in the settle phase must still end the run with its summary, not hang it.
      .catch((error: unknown) => {
        logger.error({ err: error }, 'settle phase failed');
      });
    void settling.then(() => lifecycle.shutdown('duration elapsed'));
  }, duration);
}
