import { expectOk, firstProductId } from '../catalog-client.js';
import { rssMb } from '../machine.js';
import { alternate, closedLoop, ratioMeasurement } from '../pairs.js';
import type { Measurement } from '../results.js';
import type { Scenario } from '../scenario.js';

const LABELS = { a: 'catalog, tracing on', b: 'catalog, TELEMETRY_ENABLED=false' };

/** catalog's cached read with its tracing exported to Jaeger vs with telemetry off. */
export const telemetryCost: Scenario = {
  name: 'telemetry-cost',
  pair: 'catalog `GET /products/:id` (Redis hit): tracing exported to Jaeger vs `TELEMETRY_ENABLED=false`',
  needs: () => ['catalogOn', 'catalogOff'],
  async run(context) {
    const on = await context.fixtures.get('catalogOn');
    const off = await context.fixtures.get('catalogOff');
    const path = `/products/${await firstProductId(on.url)}`;
    await expectOk(on.url + path);
    await expectOk(off.url + path);
    const rounds = await alternate(
      context.profile.rounds,
      () => closedLoop(context, on.url + path),
      () => closedLoop(context, off.url + path),
    );
    const measurements: Measurement[] = [
      ratioMeasurement('throughput ratio', LABELS, rounds.a, rounds.b, 'req/s', {
        op: '>=',
        value: 0.85,
      }),
    ];
    const rssOn = await rssMb(on.pid);
    const rssOff = await rssMb(off.pid);
    if (rssOn !== undefined && rssOff !== undefined) {
      // The issue saw 508 vs 300 MiB after its runs; no goal, but worth watching.
      measurements.push(ratioMeasurement('RSS after the runs', LABELS, [rssOn], [rssOff], 'MB'));
    }
    return {
      measurements,
      notes: [
        'Closed loop (wrk, one thread); both processes run from their TypeScript sources through tsx, as `npm start` runs them, logging at info.',
        'TELEMETRY_ENABLED switches the OpenTelemetry SDK (spans and their OTLP export); prom-client metrics are collected on both sides.',
      ],
    };
  },
};
