import { fileURLToPath } from 'node:url';
import { runNodeScript } from '@emporium/harness';
import { z } from 'zod';
import type { Infra } from '../fixtures.js';
import { alternate, ratioMeasurement } from '../pairs.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { spread } from '../stats.js';

const SIDE = fileURLToPath(new URL('../kafka/outbox-side.ts', import.meta.url));
/** The relay reads (and so sends) up to 100 documents per scan: the raw side's batch. */
const BATCH = 100;

const callTime = z.object({ count: z.number(), ms: z.number() });
const sideResult = z.object({
  events: z.number(),
  seconds: z.number().positive(),
  writeSeconds: z.number().positive().optional(),
  wokenSeconds: z.number().positive().optional(),
  pending: z.number().optional(),
  calls: z.record(z.string(), callTime).optional(),
});
type SideResult = z.infer<typeof sideResult>;

type Mode = 'relay' | 'raw';

/** What the bench does around a side: its topic and database, and the check of the topic. */
interface Housekeeping {
  readonly createTopic: (name: string) => Promise<void>;
  /** Records in the topic (the sum of its partitions' high watermarks). */
  readonly countRecords: (name: string) => Promise<number>;
  readonly deleteTopic: (name: string) => Promise<void>;
  readonly dropDatabase: (name: string) => Promise<void>;
  readonly close: () => Promise<void>;
}

async function housekeeping(infra: Infra): Promise<Housekeeping> {
  // Loaded on first use: the chassis takes seconds to load, which other scenarios need not wait.
  const { createKafka, createLogger, createMongoClient, ensureTopics } =
    await import('@emporium/platform');
  const logger = createLogger({ service: 'bench', version: '0.0.0', level: 'warn' });
  const kafka = createKafka({ clientId: 'bench-outbox', brokers: infra.kafkaBrokers, logger });
  const admin = kafka.admin();
  await admin.connect();
  const mongo = createMongoClient({ url: infra.mongoUrl, appName: 'bench-outbox' });
  return {
    // One partition, as the local stack's orders.v1 has; the relay publishes one event at a
    // time whatever the partitions, so more would only change the raw side.
    createTopic: async (name) => {
      await ensureTopics(kafka, { topics: [name], numPartitions: 1 });
    },
    countRecords: async (name) => {
      const offsets = await admin.fetchTopicOffsets(name);
      return offsets.reduce((sum, p) => sum + Number(p.high), 0);
    },
    deleteTopic: (name) => admin.deleteTopics({ topics: [name] }),
    dropDatabase: async (name) => {
      await mongo.db(name).dropDatabase();
    },
    close: async () => {
      await admin.disconnect();
      await mongo.close();
    },
  };
}

let sides = 0;

/** One side in its own process, to a fresh topic (and, for the relay, a fresh database). */
async function runSide(
  context: ScenarioContext,
  mode: Mode,
  infra: Infra,
  house: Housekeeping,
): Promise<SideResult> {
  const { outboxEvents: events, outboxWokenEvents: woken } = context.profile;
  sides++;
  const suffix = `${mode}-${String(sides)}-${Date.now().toString(36)}`;
  const topic = `bench.outbox-${suffix}.v1`;
  const database = `bench_outbox_${suffix.replaceAll('-', '_')}`;
  await house.createTopic(topic);
  try {
    const run = await runNodeScript(SIDE, {
      BENCH_MODE: mode,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      MONGO_URL: infra.mongoUrl,
      BENCH_DB: database,
      BENCH_TOPIC: topic,
      BENCH_EVENTS: String(events),
      BENCH_WOKEN: String(woken),
      BENCH_BATCH: String(BATCH),
      OTEL_EXPORTER_OTLP_ENDPOINT: infra.otlpHttpUrl,
    });
    if (run.code !== 0) throw new Error(`the ${mode} side failed:\n${run.stderr}`);
    const lastLine = run.stdout.trim().split('\n').at(-1) ?? '';
    const result = sideResult.parse(JSON.parse(lastLine));
    if (result.events !== events) {
      throw new Error(`the ${mode} side sent ${String(result.events)} of ${String(events)} events`);
    }
    if ((result.pending ?? 0) > 0) {
      throw new Error(`the relay left ${String(result.pending)} events unsent`);
    }
    // Every event the clock saw acknowledged must be in the topic; more would be redeliveries.
    const expected = events + (mode === 'relay' ? woken : 0);
    const records = await house.countRecords(topic);
    if (records < expected) {
      throw new Error(`${topic} holds ${String(records)} of ${String(expected)} events`);
    }
    const extra =
      result.wokenSeconds === undefined
        ? ''
        : `; ${(woken / result.wokenSeconds).toFixed(0)} events/s woken by writes`;
    context.log(`  ${mode}: ${(events / result.seconds).toFixed(0)} events/s${extra}`);
    return result;
  } finally {
    await house.deleteTopic(topic).catch(() => undefined);
    if (mode === 'relay') await house.dropDatabase(database).catch(() => undefined);
  }
}

/** Milliseconds per event of one kind of call, over every relay round. */
function perEvent(results: readonly SideResult[], call: string, events: number): string {
  const total = results.reduce((sum, r) => sum + (r.calls?.[call]?.ms ?? 0), 0);
  const count = results.reduce((sum, r) => sum + (r.calls?.[call]?.count ?? 0), 0);
  const calls = Math.round(count / results.length);
  return `${(total / (events * results.length)).toFixed(1)} ms (${String(calls)} call${calls === 1 ? '' : 's'} a round)`;
}

/** The platform's outbox relay draining order documents vs a raw kafkajs producer. */
export const outboxRelay: Scenario = {
  name: 'outbox-relay',
  pair: "the platform's outbox relay draining order documents from FerretDB to Kafka (as orders wires it) vs a raw kafkajs producer sending the same events",
  needs: () => ['infra'],
  async run(context) {
    const infra = await context.fixtures.get('infra');
    const { outboxEvents: events, outboxWokenEvents: woken } = context.profile;
    const house = await housekeeping(infra);
    try {
      const rounds = await alternate(
        context.profile.kafkaRounds,
        () => runSide(context, 'relay', infra, house),
        () => runSide(context, 'raw', infra, house),
      );
      const rate = (r: SideResult): number => r.events / r.seconds;
      const wokenRates = rounds.a.map((r) => woken / (r.wokenSeconds ?? Number.NaN));
      const writeRate = spread(rounds.a.map((r) => events / (r.writeSeconds ?? Number.NaN)));
      return {
        measurements: [
          ratioMeasurement(
            `events/s ratio (a backlog of ${String(events)} events)`,
            { a: 'outbox relay', b: 'raw kafkajs producer' },
            rounds.a.map(rate),
            rounds.b.map(rate),
            'events/s',
            { op: '>=', value: 0.5 },
          ),
          {
            name: `relay woken by ${String(woken)} order writes (writes on the clock)`,
            unit: 'events/s',
            value: spread(wokenRates),
          },
        ],
        notes: [
          `A: ${String(events)} order documents, each with one OrderPlaced event (about 300 bytes) in its outbox, are written to a fresh FerretDB database with insertWithOutbox before the relay starts (eight writers, ${writeRate.median.toFixed(0)} documents/s, not timed); the relay, wired as orders' (the outbox publisher over the idempotent event producer, a keyed mutex, default batch and interval, tracing exported to Jaeger), is then started and timed to Kafka's acknowledgement of the last event. That is the relay alone, draining a backlog through its scan, as after a restart or an outage.`,
          `Where the drain's time went, per event: publish (schema check, two spans, one acknowledged send) ${perEvent(rounds.a, 'publish', events)}; MongoDB marks (update) ${perEvent(rounds.a, 'update', events)}; scans (find, a whole-collection read on FerretDB) ${perEvent(rounds.a, 'find', events)}; pending counts after each full batch (aggregate, another whole-collection read) ${perEvent(rounds.a, 'aggregate', events)}.`,
          `Then, with the relay running, ${String(woken)} more orders are written the same way; each write wakes it (as orders' own writes do) and it reads the order by _id: the second figure, timed from the first write to the last acknowledgement, so the writes are on its clock.`,
          `B: a bare kafkajs producer (idempotent, acks from all replicas, one request in flight, as the platform's producer) sends the same events, built as they go, in batches of ${String(BATCH)} (what the relay reads per scan), timed from the first send to the last acknowledgement.`,
          'Each side runs in its own process, to its own fresh one-partition topic (and database), deleted after the round; every event is checked to be in the topic.',
        ],
      };
    } finally {
      await house.close();
    }
  },
};
