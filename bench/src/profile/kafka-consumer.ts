// A side of the kafka-runner pair (bench/src/kafka/consumer-sides.ts, as consume.ts runs it), profiled
// from the first event to the last with the inspector's Profiler in its own process (so the
// bench's own modules and the other side's SDK stay out of the profile). Env: BENCH_MODE
// (runner | raw), KAFKA_BROKERS, BENCH_GROUP, BENCH_EVENTS, OTEL_EXPORTER_OTLP_ENDPOINT and
// BENCH_PROFILE_OUT (where the .cpuprofile goes). Prints {"events", "seconds", "cpuMs", "fromUs", "toUs"}.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { consumerMode, startConsumerSide } from '../kafka/consumer-sides.js';

const mode = consumerMode(process.env.BENCH_MODE);
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const groupId = process.env.BENCH_GROUP ?? 'bench-profile';
const events = Number(process.env.BENCH_EVENTS ?? '1000');
const out = process.env.BENCH_PROFILE_OUT;
if (!out) throw new Error('BENCH_PROFILE_OUT must name the .cpuprofile to write');

const session = new Session();
session.connect();
await session.post('Profiler.enable');
// 1 ms, as --cpu-prof samples, so the profiles of the pair's sides read alike.
await session.post('Profiler.setSamplingInterval', { interval: 1000 });

let seen = 0;
let first: number | undefined;
let cpuAtFirst: NodeJS.CpuUsage | undefined;
let profiling: Promise<unknown> | undefined;
let resolveDone: (seconds: number) => void = () => undefined;
const done = new Promise<number>((resolve) => (resolveDone = resolve));

/** Counts one event; the first starts the clock and the profiler, the last stops the clock. */
function count(): void {
  if (first === undefined) {
    first = performance.now();
    cpuAtFirst = process.cpuUsage();
    // Started here, not at start-up: joining the group and the first fetch are not per-event cost.
    profiling = session.post('Profiler.start');
  }
  seen++;
  if (seen === events) resolveDone((performance.now() - first) / 1000);
}

const stop = await startConsumerSide(mode, { brokers, groupId, onEvent: count });
const seconds = await done;
// The whole process's CPU (every thread) from the first event to the last, in ms.
const cpu = process.cpuUsage(cpuAtFirst);
const cpuMs = (cpu.user + cpu.system) / 1000;
await profiling;
const { profile } = await session.post('Profiler.stop');
session.disconnect();
await writeFile(out, JSON.stringify(profile));
await stop();
process.stdout.write(
  `${JSON.stringify({ events: seen, seconds, cpuMs, fromUs: profile.startTime, toUs: profile.endTime })}\n`,
);
