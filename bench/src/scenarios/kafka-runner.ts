import { fileURLToPath } from 'node:url';
import { runNodeScript } from '@emporium/harness';
import { z } from 'zod';
import { produceBenchEvents } from '../kafka/produce.js';
import { alternate, ratioMeasurement } from '../pairs.js';
import type { Scenario, ScenarioContext } from '../scenario.js';

const CONSUMER = fileURLToPath(new URL('../kafka/consume.ts', import.meta.url));

const consumed = z.object({ events: z.number(), seconds: z.number().positive() });

let groups = 0;

/** One side in its own process, in a fresh group reading from the start; events per second. */
async function consume(
  context: ScenarioContext,
  mode: 'runner' | 'raw',
  brokers: readonly string[],
  otlpHttpUrl: string,
): Promise<number> {
  groups++;
  const run = await runNodeScript(CONSUMER, {
    BENCH_MODE: mode,
    KAFKA_BROKERS: brokers.join(','),
    BENCH_GROUP: `bench-${mode}-${String(groups)}-${String(Date.now())}`,
    BENCH_EVENTS: String(context.profile.kafkaEvents),
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpHttpUrl,
  });
  if (run.code !== 0) throw new Error(`the ${mode} consumer failed:\n${run.stderr}`);
  const lastLine = run.stdout.trim().split('\n').at(-1) ?? '';
  const result = consumed.parse(JSON.parse(lastLine));
  if (result.events !== context.profile.kafkaEvents) {
    throw new Error(`the ${mode} consumer saw ${String(result.events)} events`);
  }
  const rate = result.events / result.seconds;
  context.log(`  ${mode}: ${rate.toFixed(0)} events/s`);
  return rate;
}

/** The platform's consumer runner vs a hand-written kafkajs eachBatch loop. */
export const kafkaRunner: Scenario = {
  name: 'kafka-runner',
  pair: "the platform's consumer runner (CloudEvents decode, schema check, tracing, metrics, idempotency, DLQ) vs raw kafkajs `eachBatch`",
  needs: () => ['infra'],
  async run(context) {
    const infra = await context.fixtures.get('infra');
    const events = context.profile.kafkaEvents;
    context.log(`producing ${String(events)} events`);
    await produceBenchEvents(infra.kafkaBrokers, events);
    const rounds = await alternate(
      context.profile.kafkaRounds,
      () => consume(context, 'runner', infra.kafkaBrokers, infra.otlpHttpUrl),
      () => consume(context, 'raw', infra.kafkaBrokers, infra.otlpHttpUrl),
    );
    return {
      measurements: [
        ratioMeasurement(
          `events/s ratio (${String(events)} events)`,
          { a: 'consumer runner', b: 'raw kafkajs eachBatch' },
          rounds.a,
          rounds.b,
          'events/s',
          { op: '>=', value: 0.5 },
        ),
      ],
      notes: [
        `${String(events)} CloudEvents of about 100 bytes pre-produced to one partition; each side reads them all from the start in a fresh consumer group, in its own process, timed from the first event to the last.`,
        'The runner exports a span per event to Jaeger and uses an in-memory idempotency store (no service backs it with a database today); nothing is dead-lettered, but its DLQ producer is connected.',
      ],
    };
  },
};
