// One side of the Kafka pair, as its own process (so the runner's tracing SDK and metrics do
// not touch the other side): consumes BENCH_EVENTS events of the bench topic from the start in a
// fresh group, then prints {"events": n, "seconds": s} timed from the first event to the last.
import { performance } from 'node:perf_hooks';
import { consumerMode, startConsumerSide } from './consumer-sides.js';

const mode = consumerMode(process.env.BENCH_MODE);
const events = Number(process.env.BENCH_EVENTS ?? '1000');

let seen = 0;
let first: number | undefined;
let resolveDone: (seconds: number) => void = () => undefined;
const done = new Promise<number>((resolve) => (resolveDone = resolve));

const stop = await startConsumerSide(mode, {
  brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
  groupId: process.env.BENCH_GROUP ?? 'bench',
  // The first event starts the clock, the last stops it.
  onEvent: () => {
    first ??= performance.now();
    seen++;
    if (seen === events) resolveDone((performance.now() - first) / 1000);
  },
});
const seconds = await done;
await stop();
process.stdout.write(`${JSON.stringify({ events: seen, seconds })}\n`);
