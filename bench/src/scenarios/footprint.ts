import { setTimeout as sleep } from 'node:timers/promises';
import { rssMb } from '../machine.js';
import type { Measurement } from '../results.js';
import type { Scenario } from '../scenario.js';
import { spread } from '../stats.js';

const RSS_GOAL = { op: '<=', value: 90 } as const;
const READY_GOAL = { op: '<=', value: 1.5 } as const;
const STACK_GOAL = { op: '<=', value: 30 } as const;
/** Idle RSS is read this many times, a second apart (the median goes in the table). */
const RSS_SAMPLES = 5;

async function rssSamples(pid: number | undefined, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count && pid !== undefined; i++) {
    if (i > 0) await sleep(1000);
    const mb = await rssMb(pid);
    if (mb !== undefined) samples.push(mb);
  }
  return samples;
}

/** Idle RSS and start-to-ready of every service, and the whole stack's start to ready. */
export const footprint: Scenario = {
  name: 'footprint',
  pair: 'each service as `npm start` runs it (compiled, from dist/, telemetry on, behind its sidecar), and the whole stack',
  needs: (profile) => (profile.smoke ? ['edge', 'catalogOn'] : ['stack']),
  async run(context) {
    const { profile } = context;
    const measurements: Measurement[] = [];
    if (profile.smoke) {
      // The whole stack takes longer to start than the smoke may run: measure the services the
      // other scenarios started instead, so the measuring code still runs.
      await context.fixtures.get('edge');
      await context.fixtures.get('catalogOn');
      for (const [i, app] of context.fixtures.apps.entries()) {
        const rss = await rssSamples(app.pid, 1);
        const name = `${app.name} #${String(i + 1)}`;
        if (rss.length > 0) {
          measurements.push({
            name: `RSS, ${name}`,
            unit: 'MB',
            value: spread(rss),
            goal: RSS_GOAL,
          });
        }
        measurements.push({
          name: `start to ready, ${name}`,
          unit: 's',
          value: spread([app.readyMs / 1000]),
          goal: READY_GOAL,
        });
      }
      return {
        measurements,
        notes: [
          'Smoke: the services the other scenarios started, just after their load; the whole stack is not started.',
        ],
      };
    }
    const { startMs, services } = await context.fixtures.get('stack');
    // Services whose start the 100 ms watch did not see (too quick, or not spawned by us).
    const missed: string[] = [];
    context.log(
      `stack ready in ${(startMs / 1000).toFixed(1)} s; idle for ${String(profile.idleSeconds)} s`,
    );
    await sleep(profile.idleSeconds * 1000);
    measurements.push({
      name: '`npm start` to ready (whole stack)',
      unit: 's',
      value: spread([startMs / 1000]),
      goal: STACK_GOAL,
    });
    for (const service of services) {
      if (!Number.isFinite(service.readyMs)) {
        missed.push(service.name);
        continue;
      }
      measurements.push({
        name: `start to ready, ${service.name}`,
        unit: 's',
        value: spread([service.readyMs / 1000]),
        goal: READY_GOAL,
      });
    }
    for (const service of services) {
      const rss = await rssSamples(service.pid, RSS_SAMPLES);
      if (rss.length === 0)
        throw new Error(`no RSS for ${service.name} (pid ${String(service.pid)})`);
      measurements.push({
        name: `idle RSS, ${service.name}`,
        unit: 'MB',
        value: spread(rss),
        goal: RSS_GOAL,
      });
    }
    return {
      measurements,
      notes: [
        'startStack on free ports with fresh data: Kafka, Redis, FerretDB, Jaeger, Prometheus, the eight services (each compiled, from its dist/, telemetry on) and eight Envoys.',
        "A service's start to ready: from its process appearing to its first ready /readyz, both watched every 100 ms; services that start side by side share the cores, as they do under `npm start`.",
        ...(missed.length > 0 ? [`Start to ready not seen for ${missed.join(', ')}.`] : []),
        `Idle RSS: ${String(profile.idleSeconds)} s after the stack is ready, ${String(RSS_SAMPLES)} readings a second apart, of the service's Node process.`,
      ],
    };
  },
};
