import { expectOk, firstProductId } from '../catalog-client.js';
import {
  alternate,
  closedLoop,
  differenceMeasurement,
  openLoop,
  ratioMeasurement,
} from '../pairs.js';
import type { Scenario } from '../scenario.js';
import { spread } from '../stats.js';

const LABELS = {
  a: 'client → Envoy → gateway → Envoy → Envoy → catalog',
  b: 'client → gateway → catalog',
};

/** The anonymous product route through the gateway, with the two Envoy hops and without. */
export const envoyHops: Scenario = {
  name: 'envoy-hops',
  pair: 'gateway `GET /api/products/:id` → catalog: with Envoy sidecars vs without (`--no-sidecars`)',
  needs: () => ['edge'],
  async run(context) {
    const edge = await context.fixtures.get('edge');
    const catalog = await context.fixtures.get('catalogOff');
    const path = `/api/products/${await firstProductId(catalog.url)}`;
    const a = edge.withSidecars + path;
    const b = edge.withoutSidecars + path;
    await expectOk(a);
    await expectOk(b);
    const { profile } = context;
    const throughput = await alternate(
      profile.rounds,
      () => closedLoop(context, a),
      () => closedLoop(context, b),
    );
    // Latency means something only below capacity: past it, the queue is all one measures.
    // The 1000 req/s, unless the slower side (measured just now) serves less than
    // twice that on this machine; then half of what it serves.
    const capacity = spread(throughput.a).median;
    const rate = Math.max(10, Math.min(profile.openLoopRate, Math.floor(capacity / 20) * 10));
    const latency = await alternate(
      profile.rounds,
      () => openLoop(context, a, rate),
      () => openLoop(context, b, rate),
    );
    const p = (side: typeof latency.a, key: 'p90' | 'p99'): number[] => side.map((r) => r[key]);
    return {
      measurements: [
        differenceMeasurement(
          `added p90 at ${String(rate)} req/s`,
          LABELS,
          p(latency.a, 'p90'),
          p(latency.b, 'p90'),
          'ms',
          { op: '<=', value: 0.3 },
        ),
        differenceMeasurement(
          `added p99 at ${String(rate)} req/s`,
          LABELS,
          p(latency.a, 'p99'),
          p(latency.b, 'p99'),
          'ms',
          { op: '<=', value: 0.5 },
        ),
        ratioMeasurement('throughput ratio', LABELS, throughput.a, throughput.b, 'req/s', {
          op: '>=',
          value: 0.8,
        }),
      ],
      notes: [
        'Latency open-loop with vegeta at a fixed rate (no coordinated omission), throughput closed-loop with wrk.',
        ...(rate < profile.openLoopRate
          ? [
              `Latency at ${String(rate)} req/s, not ${String(profile.openLoopRate)}: with sidecars the path served only ${capacity.toFixed(0)} req/s closed-loop on this machine in this run, and a rate past capacity measures the queue, not the hops.`,
            ]
          : []),
        'One catalog serves both sides; the side without sidecars is a second gateway process calling catalog directly, as `npm start -- --no-sidecars` wires it, so the sidecars are the only difference. Only gateway and catalog (and their Envoys) run, not the whole stack.',
        'Telemetry is off in both apps and in the Envoys: the pair measures the hops alone (telemetry-cost measures tracing).',
      ],
    };
  },
};
