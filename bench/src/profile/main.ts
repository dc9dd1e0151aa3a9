// `npm run bench:profile`: CPU profiles of the three pairs that miss their goal by a ratio
// (telemetry-cost, chassis-cost, kafka-runner), each side profiled under the scenario's load,
// reduced to self time by package and function in bench/profiles/<name>.md.
//   --seconds <n>   the measured wrk run of each catalog side (10)
//   --events <n>    bench events each Kafka side consumes (100000)
// The raw .cpuprofile files go beside the .md files (ignored by git).
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureTool, repoRoot } from '@emporium/harness';
import { format, resolveConfig } from 'prettier';
import { Fixtures } from '../fixtures.js';
import { describeMachine } from '../machine.js';
import { profileBareCatalog, profileCatalog, type ProfiledRun } from './catalog.js';
import { parseCpuProfile, summarise, type CpuProfile } from './cpuprofile.js';
import { produceBenchEvents } from '../kafka/produce.js';
import { profileConsumer } from './kafka.js';
import { renderProfile, type ProfiledSide, type ProfileReport } from './report.js';
import { tsxLineResolver, type LineResolver } from './tsx-lines.js';

function log(message: string): void {
  process.stderr.write(`bench:profile: ${message}\n`);
}

const OUT_DIR = join(repoRoot(), 'bench', 'profiles');

/** A profiled run, its raw profile kept beside the reports. */
interface Kept {
  readonly name: string;
  readonly label: string;
  readonly run: ProfiledRun;
  readonly profile: CpuProfile;
}

/** Keeps the raw profile beside the reports and drops the temporary copy. */
async function keep(name: string, label: string, run: ProfiledRun): Promise<Kept> {
  const kept = join(OUT_DIR, `${name}.cpuprofile`);
  await copyFile(run.file, kept);
  await rm(dirname(run.file), { recursive: true, force: true });
  const profile = parseCpuProfile(JSON.parse(await readFile(kept, 'utf8')));
  return { name, label, run: { ...run, file: kept }, profile };
}

/** Summarises the run's window of its profile. */
function side({ name, label, run, profile }: Kept, originalLine: LineResolver): ProfiledSide {
  const summary = summarise(profile, { window: run.window, repoRoot: repoRoot(), originalLine });
  log(
    `  ${name}: ${summary.busyMs.toFixed(0)} ms busy in the window, ` +
      summary.packages
        .slice(0, 4)
        .map((p) => `${p.name} ${(p.share * 100).toFixed(1)} %`)
        .join(', '),
  );
  return { name, label, run, summary };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      events: { type: 'string', default: '100000' },
    },
    strict: true,
  });
  const seconds = Number(values.seconds);
  const events = Number(values.events);
  if (!(seconds > 0) || !(events > 0))
    throw new RangeError('--seconds and --events: positive numbers');
  const machine = describeMachine();
  const date = new Date().toISOString().slice(0, 10);
  await mkdir(OUT_DIR, { recursive: true });
  const wrkBin = (
    await ensureTool('wrk', (tool, message) => {
      log(`${tool}: ${message}`);
    })
  ).bin;
  const fixtures = new Fixtures((message) => {
    log(`  ${message}`);
  });
  const kept: Kept[] = [];
  try {
    const infra = await fixtures.get('infra');
    const load = { infra, wrkBin, seconds, connections: 16, log };

    log('catalog, telemetry on');
    const onRun = await profileCatalog({ ...load, telemetry: true });
    kept.push(await keep('catalog-telemetry-on', 'catalog with tracing exported to Jaeger', onRun));
    log('catalog, telemetry off');
    const offRun = await profileCatalog({ ...load, telemetry: false });
    kept.push(await keep('catalog-telemetry-off', 'catalog with telemetry off', offRun));
    log('bare node:http + ioredis');
    const bareRun = await profileBareCatalog({ ...load, path: offRun.path });
    kept.push(await keep('bare-catalog', 'the bare node:http + ioredis server', bareRun));

    log(`kafka: producing ${String(events)} events`);
    await produceBenchEvents(infra.kafkaBrokers, events);
    log('kafka: the consumer runner');
    const runnerRun = await profileConsumer({ infra, mode: 'runner', events, log });
    kept.push(await keep('kafka-runner', "the platform's consumer runner", runnerRun));
    log('kafka: raw eachBatch');
    const rawRun = await profileConsumer({ infra, mode: 'raw', events, log });
    kept.push(await keep('kafka-raw', 'raw kafkajs `eachBatch`', rawRun));
  } finally {
    await fixtures.stopAll();
  }

  // Read while tsx's cache still holds the compiled modules the profiles ran.
  const originalLine = tsxLineResolver(kept.map((k) => k.profile));
  const [on, off, bare, runner, raw] = kept.map((k) => side(k, originalLine));
  if (!on || !off || !bare || !runner || !raw) throw new Error('a profile is missing');
  const common = { machine, date };
  const reports: { file: string; report: ProfileReport }[] = [
    {
      file: 'catalog-telemetry-on.md',
      report: {
        ...common,
        title: 'Profile: catalog, telemetry on',
        context:
          'The `telemetry-cost` pair: catalog `GET /products/:id` (a Redis hit) with tracing exported to Jaeger vs `TELEMETRY_ENABLED=false`, both started as the bench fixtures start them (tsx, the OpenTelemetry preload, logging at info).',
        side: on,
        alternative: off,
        alternativeLink: 'catalog-telemetry-off.md',
      },
    },
    {
      file: 'catalog-telemetry-off.md',
      report: {
        ...common,
        title: 'Profile: catalog, telemetry off',
        context:
          "The `chassis-cost` pair: catalog's cached read with telemetry off vs the bare node:http server doing the same ioredis GET (bench/src/servers/bare-catalog.ts), both on the same Redis key.",
        side: off,
        alternative: bare,
      },
    },
    {
      file: 'kafka-runner.md',
      report: {
        ...common,
        title: 'Profile: the Kafka consumer runner',
        context:
          "The `kafka-runner` pair: the platform's consumer runner (CloudEvents decode, schema check, a span and metrics per event, idempotency against memory, tracing exported to Jaeger) vs raw kafkajs `eachBatch` with one JSON.parse per record, each in its own process on the same pre-produced events.",
        side: runner,
        alternative: raw,
      },
    },
  ];
  for (const { file, report } of reports) {
    const path = join(OUT_DIR, file);
    // As the repository's Prettier formats Markdown, so `prettier --check` stays clean.
    const options = (await resolveConfig(path)) ?? {};
    await writeFile(path, await format(renderProfile(report), { ...options, filepath: path }));
    log(`wrote bench/profiles/${file}`);
  }
}

main().then(
  () => undefined,
  (err: unknown) => {
    process.stderr.write(
      `bench:profile: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
