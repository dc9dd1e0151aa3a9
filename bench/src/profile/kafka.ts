// Profiles the kafka-runner pair: the events pre-produced as that scenario produces them, each
// side consuming them all in its own process (kafka-consumer.ts), profiled first event to last.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNodeScript, tempDir } from '@emporium/harness';
import { z } from 'zod';
import type { Infra } from '../fixtures.js';
import type { ProfiledRun } from './catalog.js';

const CONSUMER = fileURLToPath(new URL('./kafka-consumer.ts', import.meta.url));

const consumed = z.object({
  events: z.number(),
  seconds: z.number().positive(),
  cpuMs: z.number(),
  fromUs: z.number(),
  toUs: z.number(),
});

/** One side of the pair reading `events` bench events from the start in a fresh group. */
export async function profileConsumer(options: {
  readonly infra: Infra;
  readonly mode: 'runner' | 'raw';
  readonly events: number;
  readonly log: (message: string) => void;
}): Promise<ProfiledRun> {
  const dir = await tempDir(`profile-kafka-${options.mode}`);
  const file = join(dir, `${options.mode}.cpuprofile`);
  const run = await runNodeScript(CONSUMER, {
    BENCH_MODE: options.mode,
    KAFKA_BROKERS: options.infra.kafkaBrokers.join(','),
    BENCH_GROUP: `bench-profile-${options.mode}-${String(Date.now())}`,
    BENCH_EVENTS: String(options.events),
    OTEL_EXPORTER_OTLP_ENDPOINT: options.infra.otlpHttpUrl,
    BENCH_PROFILE_OUT: file,
  });
  if (run.code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`the profiled ${options.mode} consumer failed:\n${run.stderr}`);
  }
  const result = consumed.parse(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? ''));
  if (result.events !== options.events) {
    throw new Error(`the ${options.mode} consumer saw ${String(result.events)} events`);
  }
  const rate = result.events / result.seconds;
  options.log(`  ${options.mode}: ${rate.toFixed(0)} events/s while profiled`);
  return {
    file,
    // The profiler ran from the first event to the last: the whole profile is the window.
    units: result.events,
    cpuMs: result.cpuMs,
    unitName: 'event',
    rate,
    load: `${String(options.events)} CloudEvents of about 100 bytes on one partition, read from the start in a fresh group; profiled in-process (node:inspector Profiler) from the first event to the last`,
  };
}
