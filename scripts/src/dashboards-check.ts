// `npm run dashboards:check`: proves the Grafana dashboards on real data, since no Grafana can
// be had here. Starts the whole stack on free ports with one payment fault switched on (a
// third of payments' handler attempts fail and are retried; the provider declines a fifth),
// drives it with loadgen, then runs every panel's queries against the stack's Prometheus and
// fails unless every panel has data, the fault shows, and an exemplar's trace is in Jaeger.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort, repoRoot, runNodeScript, tempDir } from '@emporium/harness';
import { CliError, progress, runCli } from './cli.js';
import { checkPanels, exemplarTraces, type PanelResult } from './observability/check.js';
import { buildServices } from './stack/build.js';
import { freeStackPorts } from './stack/ports.js';
import { registerScrapeTarget, startStack } from './stack/stack.js';
import { SERVICES } from './stack/topology.js';

const USAGE = `usage: npm run dashboards:check -- [--duration 60s] [--rps N]
  --duration D  how long loadgen drives the store (60s)
  --rps N       loadgen's requests per second (8)`;

/** The fault: payments' handler of orders.v1 fails a third of its attempts, then retries. */
const PAYMENT_FAULT = [{ target: 'handler:orders.v1', errorRate: 0.33, status: 503 }];
/** Scrape and rule evaluation interval of the check's Prometheus, in seconds. */
const SCRAPE_SECONDS = 2;

function options(): { duration: string; rps: string } {
  try {
    const { values } = parseArgs({
      options: {
        duration: { type: 'string', default: '60s' },
        rps: { type: 'string', default: '8' },
      },
    });
    if (!/^\d+(ms|s|m)$/.test(values.duration))
      throw new Error(`bad --duration ${values.duration}`);
    if (!/^\d+$/.test(values.rps)) throw new Error(`bad --rps ${values.rps}`);
    return values;
  } catch (error) {
    throw new CliError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

/** The report line of one panel. */
function line(result: PanelResult): string {
  const status =
    result.errors.length > 0
      ? `ERROR ${result.errors.join('; ')}`
      : result.series > 0
        ? `${String(result.series)} series`
        : 'NO DATA';
  return `  ${result.dashboard.padEnd(28)} ${result.panel.padEnd(48)} ${status}`;
}

runCli('dashboards:check', async () => {
  const { duration, rps } = options();
  const dataDir = await tempDir('dashboards-check');
  const ports = await freeStackPorts();
  // As `npm start` runs them: compiled, from dist/.
  progress('dashboards:check', 'compiling the services (tsc -b)');
  await buildServices();
  progress('dashboards:check', 'starting the stack with a payment fault switched on');
  const stack = await startStack({
    servicesFrom: 'dist',
    kafkaHeapMb: 256,
    ports,
    dataDir,
    logLevel: 'warn',
    scrapeInterval: `${String(SCRAPE_SECONDS)}s`,
    env: {
      payments: { FAULTS: JSON.stringify(PAYMENT_FAULT), PSP_DECLINE_RATE: '0.2' },
    },
  });
  try {
    const { prometheus, jaeger, gatewayUrl } = stack;
    if (!prometheus || !jaeger || !gatewayUrl) throw new Error('the stack is incomplete');
    const loadgenPort = await freePort();
    const unregister = await registerScrapeTarget(dataDir, 'loadgen', loadgenPort);
    const start = new Date();
    progress('dashboards:check', `loadgen: ${rps} requests/s for ${duration}`);
    const load = await runNodeScript(
      join(repoRoot(), 'scripts', 'src', 'load.ts'),
      { HOME: process.env.HOME ?? '' },
      [
        '--gateway',
        gatewayUrl,
        '--port',
        String(loadgenPort),
        '--rps',
        rps,
        '--duration',
        duration,
      ],
    );
    await unregister();
    if (load.code !== 0) throw new CliError(`loadgen failed:\n${load.stderr}`);
    // The last scrapes, and a rule evaluation over them.
    await sleep(3 * SCRAPE_SECONDS * 1000);
    const check = {
      prometheusUrl: prometheus.url,
      variables: { service: SERVICES.map((s) => s.name) },
      // Grafana's $__rate_interval: at least four scrape intervals.
      rateInterval: `${String(8 * SCRAPE_SECONDS)}s`,
      start,
      end: new Date(),
      stepSeconds: SCRAPE_SECONDS,
      // Grafana's $__range: the time range shown, here the run's.
      range: `${String(Math.ceil((Date.now() - start.getTime()) / 1000))}s`,
    };
    const results = await checkPanels(check);
    const problems: string[] = [];
    let dashboard = '';
    for (const result of results) {
      if (result.dashboard !== dashboard)
        process.stdout.write(`${(dashboard = result.dashboard)}\n`);
      process.stdout.write(`${line(result)}\n`);
      if (result.errors.length > 0 || result.series === 0) {
        problems.push(`${result.dashboard} / ${result.panel}: ${line(result).trim()}`);
        for (const q of result.queries) problems.push(`    ${q.refId}: ${q.expr}`);
      }
    }
    const withData = results.filter((r) => r.series > 0 && r.errors.length === 0).length;
    // The fault must show where an operator would look for it.
    const panel = (title: string): PanelResult | undefined =>
      results.find((r) => r.panel === title);
    const declines = panel('Payment decline ratio')?.max ?? 0;
    const retries = panel('Retries and failures')?.max ?? 0;
    const deadLetters = panel('Dead-lettered')?.max ?? 0;
    process.stdout.write(
      `payment fault: decline ratio up to ${(declines * 100).toFixed(1)} %, handler failures up to ${retries.toFixed(2)}/s, dead-lettered up to ${String(deadLetters)}\n`,
    );
    if (!(declines > 0)) problems.push('the decline ratio never rose above 0');
    if (!(retries > 0 || deadLetters > 0)) problems.push('neither the retries nor the DLQ moved');
    // An exemplar's trace id opens a trace in Jaeger.
    const traces = await exemplarTraces(check);
    let opened: string | undefined;
    for (const { traceId, panel: from } of traces.slice(-20).reverse()) {
      const response = await fetch(`${jaeger.queryUrl}/api/traces/${traceId}`);
      if (response.ok) {
        opened = `${traceId} (from "${from}")`;
        break;
      }
    }
    process.stdout.write(
      `exemplars: ${String(traces.length)}; trace in Jaeger: ${opened ?? 'none found'}\n`,
    );
    if (!opened) problems.push('no exemplar trace id was found in Jaeger');
    process.stdout.write(`panels with data: ${String(withData)}/${String(results.length)}\n`);
    if (problems.length > 0) throw new CliError(`failed:\n${problems.join('\n')}`);
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
