import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '@emporium/harness';
import { SCENARIOS } from './registry.js';
import { isFailed, type BenchReport } from './report.js';
import type { Measurement, ScenarioResult } from './results.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const PUBLISHED = [join(repoRoot(), 'bench', 'README.md'), join(repoRoot(), 'bench', 'results')];

/** Modification times of the published results, to prove the smoke leaves them alone. */
async function publishedState(): Promise<string[]> {
  const state: string[] = [];
  for (const path of PUBLISHED) {
    const info = await stat(path).catch(() => undefined);
    state.push(`${path} ${String(info?.mtimeMs)}`);
    if (info?.isDirectory()) {
      for (const file of await readdir(path)) {
        state.push(`${file} ${String((await stat(join(path, file))).mtimeMs)}`);
      }
    }
  }
  return state;
}

/** `npm run bench -- --smoke --out <dir>`, exactly as a person runs it (minus npm). */
function runSmoke(out: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=development', MAIN, '--smoke', '--out', out],
      { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, output });
    });
  });
}

function measurement(result: ScenarioResult, prefix: string): Measurement {
  const found = result.measurements.find((m) => m.name.startsWith(prefix));
  assert.ok(found, `${result.name} reports "${prefix}…"`);
  return found;
}

/** Both sides measured, each a positive figure, and the derived value finite. */
function assertPair(result: ScenarioResult, prefix: string): void {
  const m = measurement(result, prefix);
  assert.ok(m.a && m.b, `${result.name} / ${m.name} measured both sides`);
  assert.ok(m.a.spread.median > 0, `${m.name}: ${m.a.label} gave ${String(m.a.spread.median)}`);
  assert.ok(m.b.spread.median > 0, `${m.name}: ${m.b.label} gave ${String(m.b.spread.median)}`);
  assert.ok(Number.isFinite(m.value.median), `${m.name} is a number`);
  assert.equal(m.value.samples.length, 1, 'one round in a smoke run');
}

describe('npm run bench -- --smoke', function () {
  // Under two minutes on an idle 2-core machine; shared machines are slower.
  this.timeout(600_000);
  let out: string;
  let report: BenchReport;
  let untouched: string[];

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'emporium-bench-test-'));
    untouched = await publishedState();
    const run = await runSmoke(out);
    const files = await readdir(out);
    assert.equal(run.code, 0, `the smoke run failed:\n${run.output}`);
    assert.equal(files.length, 1, `one JSON file in ${out}: ${files.join(', ')}`);
    const [file = ''] = files;
    assert.match(file, /^\d{4}-\d{2}-\d{2}\.json$/);
    report = JSON.parse(await readFile(join(out, file), 'utf8')) as BenchReport;
  });

  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('runs every scenario once, none failing, and describes the machine', () => {
    assert.deepEqual(
      report.scenarios.map((s) => s.name),
      SCENARIOS.filter((s) => s.inSmoke !== false).map((s) => s.name),
    );
    for (const s of report.scenarios) assert.ok(!isFailed(s), `${s.name}: ${JSON.stringify(s)}`);
    assert.equal(report.profile.smoke, true);
    assert.ok(report.machine.cores >= 1 && report.machine.memoryGiB > 0);
    assert.match(report.machine.node, /^v\d+\./);
    assert.match(report.machine.commit, /^[0-9a-f]{40}$|^unknown$/);
  });

  it('measures throughput on both sides of every closed-loop pair', () => {
    const byName = new Map(
      report.scenarios.flatMap((s) => (isFailed(s) ? [] : [[s.name, s] as const])),
    );
    const get = (name: string): ScenarioResult => {
      const s = byName.get(name);
      assert.ok(s, `${name} ran`);
      return s;
    };
    assertPair(get('telemetry-cost'), 'throughput ratio');
    assertPair(get('chassis-cost'), 'throughput ratio');
    assertPair(get('envoy-hops'), 'throughput ratio');
    assertPair(get('kafka-runner'), 'events/s ratio');
    assertPair(get('envoy-hops'), 'added p90');
    assertPair(get('envoy-hops'), 'added p99');
    const rss = get('footprint').measurements.filter((m) => m.unit === 'MB');
    assert.ok(rss.length > 0, 'footprint read some RSS');
    // A Node service cannot run in less than 10 MB; less means the wrong process was read.
    for (const m of rss) assert.ok(m.value.median > 10, `${m.name}: ${String(m.value.median)} MB`);
  });

  it('leaves the published results alone', async () => {
    assert.deepEqual(await publishedState(), untouched);
  });
});
