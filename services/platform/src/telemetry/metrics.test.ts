import assert from 'node:assert/strict';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createMetrics, traceExemplar } from './metrics.js';

describe('metrics', () => {
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider());
  });
  after(() => {
    trace.disable();
    context.disable();
  });

  it('serves OpenMetrics with the service label and Node runtime metrics', async () => {
    const metrics = createMetrics({ service: 'orders' });
    assert.match(metrics.registry.contentType, /application\/openmetrics-text/);
    const text = await metrics.registry.metrics();
    assert.match(text, /nodejs_eventloop_lag_seconds\{service="orders"\}/);
    assert.match(text, /process_resident_memory_bytes\{service="orders"\}/);
  });

  it('reports the event loop’s utilisation since the previous scrape, busy near 1', async () => {
    const metrics = createMetrics({ service: 'orders' });
    const utilisation = async (): Promise<number> => {
      const text = await metrics.text('nodejs_eventloop_utilization_ratio');
      return Number(
        /^nodejs_eventloop_utilization_ratio\{service="orders"\} (\S+)$/m.exec(text)?.[1],
      );
    };
    await utilisation();
    const busyUntil = Date.now() + 50;
    while (Date.now() < busyUntil) {
      // Keep the loop busy: the next reading covers only this stretch.
    }
    const busy = await utilisation();
    assert.ok(busy > 0.5 && busy <= 1, `busy loop read ${String(busy)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const idle = await utilisation();
    assert.ok(idle >= 0 && idle < busy, `idle loop read ${String(idle)}, busy ${String(busy)}`);
  });

  it('returns the same metric for the same name, and counters keep one _total', async () => {
    const metrics = createMetrics({ service: 's', runtimeMetrics: false });
    const a = metrics.counter({ name: 'orders_placed_total', help: 'Orders placed.' });
    const b = metrics.counter({ name: 'orders_placed_total', help: 'Orders placed.' });
    assert.equal(a, b);
    a.inc(2);
    const text = await metrics.text('orders_placed_total');
    assert.match(text, /^orders_placed_total\{service="s"\} 2$/m);
    assert.doesNotMatch(text, /_total_total/);
  });

  it('attaches the sampled trace id as a histogram exemplar', async () => {
    const metrics = createMetrics({ service: 's', runtimeMetrics: false });
    const histogram = metrics.histogram({
      name: 'work_duration_seconds',
      help: 'Work.',
      buckets: [0.1, 1],
    });
    assert.deepEqual(traceExemplar(), {});
    let traceId = '';
    trace.getTracer('t').startActiveSpan('work', (span) => {
      traceId = span.spanContext().traceId;
      histogram.observe({ labels: {}, value: 0.05, exemplarLabels: traceExemplar() });
      span.end();
    });
    const text = await metrics.text('work_duration_seconds');
    assert.match(
      text,
      new RegExp(
        `work_duration_seconds_bucket\\{le="0.1",service="s"\\} 1 # \\{trace_id="${traceId}",span_id="[0-9a-f]{16}"\\} 0.05`,
      ),
    );
  });
});
