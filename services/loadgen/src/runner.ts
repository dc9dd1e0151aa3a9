import type { Logger } from '@emporium/platform';
import { startJourney, type Journey } from './domain/journey.js';
import { classify, type Outcome, type Step } from './domain/outcome.js';
import { createPacer, type Pacer } from './domain/pacer.js';
import type { Random } from './domain/random.js';
import { createShoppers } from './domain/shoppers.js';
import { createSummaryRecorder, type Summary } from './domain/summary.js';
import { createTokenBook, parseTokenAnswer } from './domain/tokens.js';
import type { StoreAnswer, StoreGateway } from './gateways/store.gateway.js';
import type { LoadgenMetrics } from './loadgen.metrics.js';

/** Options of {@link createRunner}. */
export interface RunnerOptions {
  /** Requests per second across all shoppers. */
  rps: number;
  /** Most requests in flight (and journeys open); capped by the number of users. */
  concurrency: number;
  users: readonly string[];
  checkoutRatio: number;
  /** The share of journeys that search (default 0.5). */
  searchRatio?: number;
  store: StoreGateway;
  metrics: LoadgenMetrics;
  logger: Logger;
  /** A monotonic clock in ms; performance.now by default. */
  now?: () => number;
  /** Math.random by default; a seeded one makes the choices repeatable. */
  random?: Random;
}

/** The synthetic shoppers at work. */
export interface Runner {
  /** Starts sending; the first request goes at once. */
  start(): void;
  /** Stops sending, waits for the requests in flight, and resolves with the final summary. */
  stop(): Promise<Summary>;
  /** The summary so far (final once stopped). */
  summary(): Summary;
}

/** A short description of a non-ok answer for the log. */
function describe(answer: StoreAnswer): string {
  if (answer.status === 0) return `no answer (${answer.failure ?? 'network'})`;
  return `HTTP ${String(answer.status)}${answer.code ? ` ${answer.code}` : ''}`;
}

/**
 * Creates the runner: the pacer's ticks become journey steps. On each tick the pacer admits a
 * request if a slot is free; the step sent is the next one of a journey waiting for its turn,
 * or the first of a new journey for a free user. A step that needs a token the shopper does not
 * hold (or that is about to expire) sends the token request in its place.
 */
export function createRunner(options: RunnerOptions): Runner {
  const { store, metrics, logger } = options;
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  // A user is in one journey at a time, so more slots than users could never be filled.
  const concurrency = Math.max(1, Math.min(options.concurrency, options.users.length));
  if (concurrency < options.concurrency) {
    logger.warn(
      { concurrency: options.concurrency, users: options.users.length },
      'concurrency capped at the number of users: each user shops one journey at a time',
    );
  }
  const tokens = createTokenBook();
  const recorder = createSummaryRecorder({ random });
  let catalogTotal: number | undefined;
  const shoppers = createShoppers({
    users: options.users,
    startJourney: (user) =>
      startJourney({
        user,
        random,
        checkoutRatio: options.checkoutRatio,
        ...(options.searchRatio === undefined ? {} : { searchRatio: options.searchRatio }),
        catalogTotal,
      }),
  });
  const inFlight = new Set<Promise<void>>();
  const warned = new Set<string>();
  let startedAt = new Date().toISOString();
  let startedAtMs = now();
  let pacer: Pacer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stoppedAtMs: number | undefined;
  let stopping: Promise<Summary> | undefined;

  /** Logs the first answer of each kind that is not ok; the rest are only counted. */
  const warnOnce = (step: Step, outcome: Outcome, answer: StoreAnswer): void => {
    if (outcome === 'ok' || outcome === 'business') return;
    const key = `${step} ${String(answer.status)} ${answer.failure ?? ''}`;
    if (warned.has(key)) return;
    warned.add(key);
    const hint =
      step === 'token' && answer.status === 400
        ? ': the issuer refused the user name (the gateway dev issuer takes lower-case names of a-z, 0-9 and -)'
        : '';
    logger.warn(
      { step, status: answer.status, code: answer.code, failure: answer.failure },
      `${step}: ${describe(answer)}${hint}; further ones are only counted`,
    );
  };

  /** Sends one request, timing it and counting it in the summary and the metrics. */
  const measure = async (
    step: Step,
    send: () => Promise<StoreAnswer>,
  ): Promise<{ answer: StoreAnswer; outcome: Outcome }> => {
    const began = now();
    const answer = await send();
    const latencyMs = now() - began;
    const outcome = classify(step, answer.status);
    const code =
      outcome === 'business' ? (answer.code ?? `HTTP_${String(answer.status)}`) : undefined;
    recorder.request(step, outcome, latencyMs, code);
    metrics.requests.inc({ step, outcome });
    metrics.duration.observe({ labels: { step }, value: latencyMs / 1000 });
    warnOnce(step, outcome, answer);
    return { answer, outcome };
  };

  /** Sends the journey's next step (or the token it needs first). */
  const advance = async (journey: Journey): Promise<void> => {
    const request = journey.next();
    if (!request) return;
    const { user } = journey;
    const token = request.auth ? tokens.get(user, now()) : undefined;
    if (request.auth && token === undefined) {
      const { answer, outcome } = await measure('token', () => store.token(user));
      const issued = outcome === 'ok' ? parseTokenAnswer(answer.body) : undefined;
      if (issued) tokens.put(user, issued.token, issued.expiresInSeconds, now());
      else journey.fail(outcome === 'rate_limited' ? 'rate_limited' : 'failed');
      // The step itself waits for the journey's next turn: the token took this tick.
      return;
    }
    const { answer, outcome } = await measure(request.step, () => store.send(request, token));
    // A refused token (expired early, or a gateway restarted with a new key) is fetched anew.
    if (answer.status === 401) tokens.forget(user);
    if (request.step === 'checkout' && outcome === 'ok') {
      recorder.orderPlaced();
      metrics.ordersPlaced.inc();
    }
    journey.record({ status: answer.status, outcome, body: answer.body });
    catalogTotal = journey.catalogTotal() ?? catalogTotal;
  };

  const dispatch = (active: Pacer, journey: Journey): void => {
    metrics.inFlight.set(active.stats().inFlight);
    const work: Promise<void> = advance(journey)
      .catch((error: unknown) => {
        logger.error({ err: error, user: journey.user }, 'journey step failed unexpectedly');
        journey.fail('failed');
      })
      .finally(() => {
        const ended = shoppers.settle(journey);
        if (ended) {
          recorder.journey(ended);
          metrics.journeys.inc({ outcome: ended });
        }
        active.release();
        metrics.inFlight.set(active.stats().inFlight);
        inFlight.delete(work);
      });
    inFlight.add(work);
  };

  /** Sends the ticks that are due, then sleeps until the next one. */
  const pump = (): void => {
    timer = undefined;
    const active = pacer;
    if (!active || stoppedAtMs !== undefined) return;
    const droppedBefore = active.stats().dropped;
    const due = active.due(now());
    for (let i = 0; i < due; i++) {
      if (!active.admit()) continue;
      const journey = shoppers.take();
      if (journey) dispatch(active, journey);
      else active.cancel();
    }
    const dropped = active.stats().dropped - droppedBefore;
    if (dropped > 0) metrics.dropped.inc(dropped);
    timer = setTimeout(pump, Math.max(0, active.nextTickAt() - now()));
  };

  const summary = (): Summary =>
    recorder.snapshot({
      startedAt,
      running: pacer !== undefined && stoppedAtMs === undefined,
      elapsedMs: pacer ? (stoppedAtMs ?? now()) - startedAtMs : 0,
      targetRps: options.rps,
      concurrency,
      dropped: pacer?.stats().dropped ?? 0,
      inProgress: shoppers.open(),
    });

  return {
    start() {
      if (pacer) return;
      startedAt = new Date().toISOString();
      startedAtMs = now();
      pacer = createPacer({ rps: options.rps, concurrency, startMs: startedAtMs });
      metrics.inFlight.set(0);
      pump();
    },
    stop() {
      stopping ??= (async () => {
        stoppedAtMs ??= now();
        clearTimeout(timer);
        await Promise.allSettled([...inFlight]);
        return summary();
      })();
      return stopping;
    },
    summary,
  };
}
