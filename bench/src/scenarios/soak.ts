import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, repoRoot, runNodeScript } from '@emporium/harness';
import { z } from 'zod';
import { ratioMeasurement } from '../pairs.js';
import type { Measurement } from '../results.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { spread } from '../stats.js';

/** The sustained rate: what `npm run load -- --rps 25` offers. */
const RPS = 25;
/** The goals for a soak: no failed request, p99 under 500 ms, every order final in 60 s. */
const P99_GOAL_MS = 500;

/** The part of loadgen's summary (`npm run load -- --json`) the soak reports. */
const Step = z.object({
  requests: z.number(),
  errors: z.number(),
  rateLimited: z.number(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});
const LoadSummary = z.object({
  achievedRps: z.number(),
  dropped: z.number(),
  total: Step,
  steps: z.array(Step.extend({ step: z.string() })),
  orders: z.object({
    placed: z.number(),
    final: z.number(),
    notFinal: z.number(),
    late: z.number(),
    timeToFinal: z.object({ p50Ms: z.number().nullable(), p99Ms: z.number().nullable() }),
  }),
});
type LoadSummary = z.output<typeof LoadSummary>;

/** Runs one of the repo's command-line scripts (`npm run <name>`) to its end. */
async function script(name: 'load' | 'seed', args: readonly string[]): Promise<string> {
  const run = await runNodeScript(
    join(repoRoot(), 'scripts', 'src', `${name}.ts`),
    { HOME: process.env.HOME ?? '' },
    args,
  );
  if (run.code !== 0) {
    throw new Error(
      `npm run ${name} -- ${args.join(' ')}: exit ${String(run.code)}\n${run.stderr}`,
    );
  }
  return run.stdout;
}

/** `npm run load` at the soak's rate against the stack, read from its `--json` summary. */
async function soak(gateway: string, seconds: number, settleSeconds: number): Promise<LoadSummary> {
  const stdout = await script('load', [
    '--gateway',
    gateway,
    '--port',
    String(await freePort()),
    '--rps',
    String(RPS),
    '--duration',
    `${String(seconds)}s`,
    '--settle',
    `${String(settleSeconds)}s`,
    '--json',
  ]);
  return LoadSummary.parse(JSON.parse(stdout));
}

/** The soak's figures for one side (`fresh`, `100k orders`), each against its goal. */
function sideMeasurements(side: string, s: LoadSummary): Measurement[] {
  const ttf = s.orders.timeToFinal.p99Ms;
  const figures: { name: string; unit: string; n: number | null; goal?: Measurement['goal'] }[] = [
    { name: 'failed requests', unit: 'requests', n: s.total.errors, goal: { op: '<=', value: 0 } },
    {
      name: 'p99 of every request',
      unit: 'ms',
      n: s.total.p99Ms,
      goal: { op: '<=', value: P99_GOAL_MS },
    },
    { name: 'p50 of every request', unit: 'ms', n: s.total.p50Ms },
    {
      name: 'orders not final within 60 s',
      unit: 'orders',
      n: s.orders.notFinal + s.orders.late,
      goal: { op: '<=', value: 0 },
    },
    { name: 'p99 time to final state', unit: 's', n: ttf === null ? null : ttf / 1000 },
  ];
  // A side that got no answer has no percentiles: those figures are left out.
  return figures.flatMap(({ name, unit, n, goal }): Measurement[] =>
    n === null || !Number.isFinite(n)
      ? []
      : [{ name: `${name}, ${side}`, unit, value: spread([n]), ...(goal ? { goal } : {}) }],
  );
}

/** One line on what a side saw, for the notes: the slowest steps and where errors were. */
function describe(side: string, s: LoadSummary): string {
  const slowest = [...s.steps]
    .filter((step) => step.p99Ms !== null)
    .sort((x, y) => (y.p99Ms ?? 0) - (x.p99Ms ?? 0))
    .slice(0, 3)
    .map((step) => `${step.step} ${String(step.p99Ms)} ms`);
  const failing = s.steps
    .filter((step) => step.errors > 0)
    .map((step) => `${step.step} ${String(step.errors)}`);
  return (
    `${side}: ${String(s.total.requests)} requests at ${s.achievedRps.toFixed(1)} rps ` +
    `(${String(s.dropped)} dropped at loadgen's concurrency cap), ${String(s.orders.placed)} orders ` +
    `placed, ${String(s.orders.final)} final; slowest p99 by step: ${slowest.join(', ')}` +
    (failing.length > 0 ? `; errors by step: ${failing.join(', ')}` : '')
  );
}

async function run(context: ScenarioContext): ReturnType<Scenario['run']> {
  const { profile } = context;
  const { stack, ports } = await context.fixtures.get('stack');
  const gateway = stack.gatewayUrl;
  if (!gateway) throw new Error('the stack has no gateway');
  const seconds = profile.soakSeconds;
  const settle = profile.smoke ? 30 : 60;

  context.log(`soak: ${String(RPS)} rps for ${String(seconds)} s on the store as it is`);
  const fresh = await soak(gateway, seconds, settle);
  context.log(`soak: seeding ${String(profile.soakSeedOrders)} past orders`);
  const seedStarted = performance.now();
  await script('seed', [
    '--orders',
    String(profile.soakSeedOrders),
    '--mongo',
    `mongodb://127.0.0.1:${String(ports.mongodb)}/`,
    '--gateway',
    gateway,
  ]);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const seeded = `${String(profile.soakSeedOrders / 1000)}k orders`;
  context.log(`soak: seeded in ${seedSeconds.toFixed(0)} s; ${String(RPS)} rps again`);
  const loaded = await soak(gateway, seconds, settle);

  const p99 = (s: LoadSummary): number => s.total.p99Ms ?? Number.NaN;
  return {
    measurements: [
      ...sideMeasurements('fresh store', fresh),
      ...sideMeasurements(`${seeded} in the store`, loaded),
      // No ratio when a side got no answer at all.
      ...(Number.isFinite(p99(loaded) / p99(fresh))
        ? [
            ratioMeasurement(
              `p99 with ${seeded} in the store vs fresh (1 = history costs nothing)`,
              { a: seeded, b: 'fresh store' },
              [p99(loaded)],
              [p99(fresh)],
              'ms',
              { op: '<=', value: 1.2 },
            ),
          ]
        : []),
    ],
    notes: [
      `\`npm run load -- --rps ${String(RPS)} --duration ${String(seconds)}s --settle ${String(settle)}s\` through the gateway (sidecars on, loadgen's default 20 shoppers and journey mix), first on the store as the earlier scenarios left it, then again after \`npm run seed -- --orders ${String(profile.soakSeedOrders)}\` (${seedSeconds.toFixed(0)} s). The issue's soak is 10 minutes (\`npm run load -- --rps 25 --duration 10m --strict\`); the bench runs it shorter to stay within its time.`,
      describe('fresh', fresh),
      describe(seeded, loaded),
    ],
  };
}

/** The sustained load: 25 rps with its goals, on a fresh store and at 100k orders. */
export const soakScenario: Scenario = {
  name: 'soak',
  pair: '`npm run load` at 25 rps through the whole stack: fresh store vs 100k past orders in it',
  // Needs the whole stack, which alone takes longer to start than the smoke may run.
  inSmoke: false,
  needs: () => ['stack'],
  run,
};
