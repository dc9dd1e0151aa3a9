import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ensureTool, type ProgressListener } from '@emporium/harness';
import { writeChart } from './charts.js';
import { Fixtures } from './fixtures.js';
import { describeMachine } from './machine.js';
import { selectScenarios } from './registry.js';
import type { FailedScenario, BenchReport } from './report.js';
import type { ScenarioResult } from './results.js';
import type { Profile } from './scenario.js';

/** Options of {@link runBench}. */
export interface RunOptions {
  readonly profile: Profile;
  /** Scenario names; every scenario when empty. */
  readonly only: readonly string[];
  readonly log: (message: string) => void;
}

/**
 * Runs the chosen scenarios in registry order, each starting the fixtures it needs and the
 * runner stopping those no later scenario needs. A scenario that throws is recorded as failed
 * and the others still run; everything started is stopped at the end.
 */
export async function runBench(options: RunOptions): Promise<BenchReport> {
  const { profile, log } = options;
  const scenarios = selectScenarios(options.only, profile.smoke);
  const startedAt = new Date();
  const began = performance.now();
  const machine = describeMachine();
  const progress: ProgressListener = (tool, message) => {
    log(`${tool}: ${message}`);
  };
  const tools = {
    wrk: (await ensureTool('wrk', progress)).bin,
    vegeta: (await ensureTool('vegeta', progress)).bin,
  };
  const fixtures = new Fixtures((message) => {
    log(`  ${message}`);
  });
  const results: (ScenarioResult | FailedScenario)[] = [];
  try {
    for (const [i, scenario] of scenarios.entries()) {
      await fixtures.release(scenarios.slice(i).flatMap((s) => s.needs(profile)));
      log(`${scenario.name}: ${scenario.pair}`);
      const t0 = performance.now();
      const loadAverage = Math.round((loadavg()[0] ?? 0) * 10) / 10;
      try {
        // Independent fixtures start side by side: most of a service's start is waiting.
        await Promise.all(scenario.needs(profile).map((name) => fixtures.get(name)));
        const outcome = await scenario.run({ profile, fixtures, tools, log, chart: writeChart });
        results.push({
          name: scenario.name,
          pair: scenario.pair,
          rounds: profile.rounds,
          ...outcome,
          seconds: (performance.now() - t0) / 1000,
          loadAverage,
        });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        log(`${scenario.name} failed: ${error}`);
        results.push({
          name: scenario.name,
          pair: scenario.pair,
          error: error.split('\n').slice(0, 3).join(' '),
          seconds: (performance.now() - t0) / 1000,
        });
      }
    }
  } finally {
    await fixtures.stopAll();
  }
  return {
    date: startedAt.toISOString().slice(0, 10),
    startedAt: startedAt.toISOString(),
    seconds: (performance.now() - began) / 1000,
    profile,
    machine,
    scenarios: results,
  };
}
