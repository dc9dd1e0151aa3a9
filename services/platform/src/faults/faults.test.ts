import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { createMetrics } from '../telemetry/metrics.js';
import { createFaults, faultsVar } from './faults.js';

describe('faults', () => {
  it('is off by default: no rules, no delay, no error', async () => {
    const faults = createFaults([]);
    const started = performance.now();
    for (let i = 0; i < 100; i++) await faults.inject('route:POST /orders');
    assert.ok(performance.now() - started < 50);
  });

  it('parses FAULTS and rejects a malformed rule with a reason', () => {
    const rules = faultsVar().parse(
      '[{"target":"route:POST /orders","latencyMs":50,"errorRate":0.5}]',
    );
    assert.deepEqual(rules, [
      { target: 'route:POST /orders', latencyMs: 50, errorRate: 0.5, status: 503 },
    ]);
    const bad = faultsVar().safeParse('[{"target":"orders","errorRate":2}]');
    assert.equal(bad.success, false);
    const paths = bad.error.issues.map((i) => i.path.join('.')).sort();
    assert.deepEqual(paths, ['0.errorRate', '0.target']);
    assert.equal(faultsVar().safeParse('not json').success, false);
  });

  it('injects errors at the configured rate and only for matching targets', async () => {
    const metrics = createMetrics({ service: 'test', runtimeMetrics: false });
    let n = 0;
    // Deterministic: alternate 0.1, 0.9 so exactly half the calls fall under a 0.5 rate.
    const faults = createFaults(
      [{ target: 'handler:payments*', latencyMs: 0, errorRate: 0.5, status: 503 }],
      {
        metrics,
        random: () => (n++ % 2 === 0 ? 0.1 : 0.9),
      },
    );
    let failures = 0;
    for (let i = 0; i < 10; i++) {
      await faults.inject('handler:payments.v1').catch((err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'FAULT_INJECTED');
        assert.equal(err.status, 503);
        assert.equal(err.headers['retry-after'], '1');
        failures++;
      });
    }
    assert.equal(failures, 5);
    await faults.inject('handler:shipping.v1'); // not matched: never fails
    const text = await metrics.text('faults_injected_total');
    assert.match(
      text,
      /faults_injected_total\{target="handler:payments\*",kind="error",service="test"\} 5/,
    );
  });

  it('adds latency and wraps functions', async () => {
    const faults = createFaults([
      { target: 'route:GET /slow', latencyMs: 120, errorRate: 0, status: 503 },
    ]);
    const wrapped = faults.wrap('route:GET /slow', (x: number) => Promise.resolve(x * 2));
    const started = performance.now();
    assert.equal(await wrapped(21), 42);
    assert.ok(performance.now() - started >= 110);
  });
});
