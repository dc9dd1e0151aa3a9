import type { Routes } from '@emporium/platform';
import { z } from 'zod';
import { STEPS } from '../domain/outcome.js';
import type { Summary } from '../domain/summary.js';

const count = z.int().min(0);
const latency = z.number().min(0).nullable();

/** One step's line of the summary. */
const StepSummarySchema = z
  .object({
    step: z.enum([...STEPS, 'total']),
    requests: count,
    ok: count,
    business: count,
    businessCodes: z.record(z.string(), count),
    rateLimited: count,
    errors: count,
    p50Ms: latency,
    p95Ms: latency,
    p99Ms: latency,
  })
  .meta({ id: 'StepSummary' });

/** What became of the orders placed, and the settle phase that read them back. */
const OrdersSummarySchema = z
  .object({
    placed: count,
    final: count,
    shipped: count,
    cancelled: count,
    notFinal: count,
    notFinalByStatus: z.record(z.string(), count),
    untracked: count,
    timeToFinal: z.object({ p50Ms: latency, p95Ms: latency, p99Ms: latency, maxMs: latency }),
    lateAfterMs: count,
    late: count,
    settle: z.object({
      state: z.enum(['waiting', 'running', 'done', 'skipped', 'interrupted']),
      limitMs: count,
      elapsedSeconds: z.number().min(0),
      rounds: count,
      reads: count,
      failedReads: count,
    }),
  })
  .meta({ id: 'OrdersSummary' });

/** The run so far, as `GET /stats` documents it. */
export const SummarySchema = z
  .object({
    startedAt: z.string(),
    running: z.boolean(),
    elapsedSeconds: z.number().min(0),
    targetRps: z.number(),
    achievedRps: z.number().min(0),
    concurrency: count,
    requests: count,
    dropped: count,
    ordersPlaced: count,
    orders: OrdersSummarySchema,
    journeys: z.object({
      ordered: count,
      abandoned: count,
      rejected: count,
      rate_limited: count,
      failed: count,
      inProgress: count,
    }),
    steps: z.array(StepSummarySchema),
    total: StepSummarySchema,
  })
  .meta({ id: 'LoadgenSummary' }) satisfies z.ZodType<Summary>;

/** Where the summary comes from: the runner. */
export interface StatsSource {
  summary(): Summary;
}

/** `GET /stats`: the summary of the run so far (final once the run stopped). */
export function statsRoutes(routes: Routes, source: StatsSource): void {
  routes.get(
    '/stats',
    {
      summary: 'The load run so far',
      description:
        'Requests per step and outcome (ok, business 4xx, 429, errors), latency percentiles, ' +
        'achieved rate, dropped arrivals, orders placed (and, after the settle phase, how many ' +
        'became final and how fast) and journeys by outcome.',
      responses: { 200: SummarySchema },
    },
    (_req, res) => {
      res.json(source.summary());
    },
  );
}
