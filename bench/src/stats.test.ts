import assert from 'node:assert/strict';
import { parseVegeta } from './load/vegeta.js';
import { parseWrk } from './load/wrk.js';
import { alternate } from './pairs.js';
import { formatValue, renderResults, verdictText, type BenchReport } from './report.js';
import { verdict, type Measurement } from './results.js';
import { FULL_PROFILE } from './scenario.js';
import { differences, quantile, ratios, spread } from './stats.js';

describe('bench statistics and reporting', () => {
  it('summarises rounds by median, min–max and quartiles', () => {
    const s = spread([5, 1, 4, 2, 3]);
    assert.deepEqual([s.median, s.min, s.max, s.q1, s.q3], [3, 1, 5, 2, 4]);
    assert.equal(spread([1, 2, 3, 10]).median, 2.5);
    assert.equal(quantile([0, 10], 0.9), 9);
    assert.throws(() => spread([]), /no samples/);
    assert.throws(() => spread([1, Number.NaN]), /not a finite sample/);
  });

  it('pairs rounds one to one', () => {
    assert.deepEqual(ratios([2, 3], [4, 6]), [0.5, 0.5]);
    assert.deepEqual(differences([2, 3], [1, 1]), [1, 2]);
    assert.throws(() => ratios([1], [1, 2]), /same number of rounds/);
  });

  it('alternates the sides ABBA so neither always goes first', async () => {
    const order: string[] = [];
    const result = await alternate(
      3,
      () => Promise.resolve(order.push('A')),
      () => Promise.resolve(order.push('B')),
    );
    assert.deepEqual(order, ['A', 'B', 'B', 'A', 'A', 'B']);
    assert.equal(result.a.length, 3);
  });

  it('judges goals and says by how much one is missed', () => {
    assert.deepEqual(verdict(0.9, { op: '>=', value: 0.85 }).met, true);
    assert.ok(Math.abs(verdict(0.6, { op: '>=', value: 0.85 }).margin + 0.25) < 1e-9);
    assert.equal(verdict(0.4, { op: '<=', value: 0.5 }).met, true);
    const missed: Measurement = {
      name: 'added p99',
      unit: 'ms',
      value: spread([1.25]),
      goal: { op: '<=', value: 0.5 },
    };
    assert.equal(verdictText(missed), '**missed by 0.75 ms**');
    assert.equal(formatValue(18908.4, 'req/s'), '18,908 req/s');
    assert.equal(formatValue(0.25, 'ms', true), '+0.25 ms');
  });

  it('renders a row per measurement with the machine above the table', () => {
    const report: BenchReport = {
      date: '2026-11-30',
      startedAt: '2026-11-30T12:00:00.000Z',
      seconds: 600,
      profile: FULL_PROFILE,
      machine: {
        cores: 2,
        cpuModel: 'cpu',
        memoryGiB: 8,
        node: 'v24.21.0',
        commit: 'a'.repeat(40),
        dirty: false,
        loadAverage: 0.5,
      },
      scenarios: [
        {
          name: 'chassis-cost',
          pair: 'catalog vs bare',
          rounds: 3,
          seconds: 60,
          loadAverage: 1.5,
          notes: ['a note'],
          measurements: [
            {
              name: 'throughput ratio',
              unit: 'ratio',
              value: spread([0.3, 0.28, 0.32]),
              goal: { op: '>=', value: 0.5 },
              a: { label: 'catalog', spread: spread([3000, 2900, 3100]) },
              b: { label: 'bare', spread: spread([10000, 10000, 10000]) },
              sideUnit: 'req/s',
            },
          ],
        },
        { name: 'kafka-runner', pair: 'runner vs raw', error: 'broker gone', seconds: 1 },
      ],
    };
    const text = renderResults(report);
    assert.match(text, /2 cores \(cpu\), 8 GiB, Node v24\.21\.0, commit aaaaaaaaaa;/);
    assert.match(
      text,
      /\| chassis-cost \| catalog vs bare \| throughput ratio \| 3,000 req\/s vs 10,000 req\/s \| 0\.30 \(0\.28 – 0\.32\) \| ≥ 0\.50 \| \*\*missed by 0\.20\*\* \|/,
    );
    assert.match(text, /\| kafka-runner \| runner vs raw \| \*\*failed\*\* \| \| broker gone/);
    assert.match(
      text,
      /- \*\*chassis-cost\*\* \(60 s, load average 1\.5 at its start\): A = catalog; B = bare\. a note/,
    );
  });

  it('reads wrk and vegeta reports', () => {
    const wrk = parseWrk(
      [
        'Running 5s test @ http://127.0.0.1:1/x',
        '  1 threads and 16 connections',
        '  41234 requests in 5.00s, 30.00MB read',
        '  Non-2xx or 3xx responses: 3',
        '  Socket errors: connect 0, read 1, write 0, timeout 2',
        'Requests/sec:   8246.80',
      ].join('\n'),
    );
    assert.deepEqual(wrk, {
      requestsPerSecond: 8246.8,
      requests: 41234,
      non2xx: 3,
      socketErrors: 3,
    });
    assert.throws(() => parseWrk('unable to connect'), /wrk printed no result/);
    const vegeta = parseVegeta(
      JSON.stringify({
        latencies: { '50th': 1_500_000, '90th': 2_000_000, '99th': 5_250_000, max: 9e6 },
        requests: 6000,
        rate: 1000.1,
        throughput: 999.9,
        success: 1,
        errors: null,
      }),
    );
    assert.equal(vegeta.p99, 5.25);
    assert.deepEqual(vegeta.errors, []);
  });
});
