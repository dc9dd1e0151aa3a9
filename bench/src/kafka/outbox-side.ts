// One side of the outbox pair, as its own process (so the relay's tracing SDK and metrics do
// not touch the other side; both load the chassis, outside the clock), publishing BENCH_EVENTS
// OrderPlaced events to the fresh topic BENCH_TOPIC, which the bench created beforehand. Prints
// its SideResult as JSON on its last line.
//   relay: writes one order document per event to FerretDB (BENCH_DB) with insertWithOutbox
//          while no relay runs, then starts the platform's outbox relay as orders wires it and
//          times from its start to the broker's acknowledgement of the last event (the backlog
//          drain). Then, with the relay running, writes BENCH_WOKEN more orders, whose writes
//          wake it, timed from the first write to the last acknowledgement.
//   raw:   a bare kafkajs producer sends the same events in batches of BENCH_BATCH, timed from
//          the first send to the acknowledgement of the last.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ordersTopic } from '@emporium/contracts';
import {
  buildOutboxEvent,
  createEventProducer,
  createKafka,
  createKeyedMutex,
  createLogger,
  createMetrics,
  createMongoClient,
  createOutboxRelay,
  defineTopic,
  encodeCloudEvent,
  ensureOutboxIndexes,
  insertWithOutbox,
  isPoisonPublishError,
  outboxPublisher,
  type OutboxDocument,
} from '@emporium/platform';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startBenchTelemetry } from './bench-telemetry.js';
import { ORDER_PLACED_TYPE, ORDERS_SOURCE, placedData, type PlacedData } from './outbox-orders.js';

const mode = process.env.BENCH_MODE;
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const topicName = process.env.BENCH_TOPIC ?? '';
const events = Number(process.env.BENCH_EVENTS ?? '100');
const batch = Number(process.env.BENCH_BATCH ?? '100');
const woken = Number(process.env.BENCH_WOKEN ?? '0');
/** A side that has not finished by then is stuck (a relay that stopped publishing). */
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? '300000');

/** Time spent in one kind of call while the relay drained the backlog. */
interface CallTime {
  count: number;
  ms: number;
}

/** What a side prints as its last line. */
interface SideResult {
  events: number;
  seconds: number;
  /** relay: how long writing the backlog's documents took (before the clock). */
  writeSeconds?: number;
  /** relay: from the first of the BENCH_WOKEN writes to the last of their events acknowledged. */
  wokenSeconds?: number;
  /** relay: unsent events left in the collection after the relay stopped. */
  pending?: number;
  /**
   * relay, during the backlog drain: MongoDB commands by name (as the driver timed them) and
   * `publish`, the outbox publisher's calls (schema check, spans, the acknowledged send).
   */
  calls?: Record<string, CallTime>;
}

/** An order as the orders repository stores it: state, history, version and outbox. */
type OrderDocument = Omit<PlacedData, 'lines' | 'placedAt'> &
  OutboxDocument & {
    _id: string;
    lines: PlacedData['lines'][number][];
    status: 'PENDING';
    createdAt: string;
    updatedAt: string;
    history: { status: 'PENDING'; at: string }[];
    version: number;
  };

/** Fails the process when `promise` takes longer than a side may. */
async function within<T>(promise: Promise<T>, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what()} after ${String(timeoutMs)} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sums the time of calls by name, while switched on. */
interface CallTimer {
  on: boolean;
  readonly calls: Record<string, CallTime>;
  add(name: string, ms: number): void;
}

function callTimer(): CallTimer {
  const calls: Record<string, CallTime> = {};
  const timer: CallTimer = {
    on: false,
    calls,
    add: (name, ms) => {
      if (!timer.on) return;
      const call = (calls[name] ??= { count: 0, ms: 0 });
      call.count++;
      call.ms += ms;
    },
  };
  return timer;
}

async function relay(): Promise<SideResult> {
  // Tracing on and exported as in orders. The relay and the producer make their own spans;
  // the preload's MongoDB instrumentation only traces calls under a parent span, which the
  // relay's reads and marks are not, so no library instrumentation is needed.
  const telemetry = startBenchTelemetry('bench-outbox-relay');
  const logger = createLogger({ service: 'bench-outbox-relay', version: '0.0.0', level: 'warn' });
  const metrics = createMetrics({ service: 'bench-outbox-relay' });
  const time = callTimer();
  const client = createMongoClient({
    url: process.env.MONGO_URL ?? '',
    appName: 'bench-outbox-relay',
    // The driver's own timing of each command, to tell where the relay's time goes; a listener
    // that adds two numbers costs nothing beside a FerretDB round trip.
    extra: { monitorCommands: true },
  });
  client.on('commandSucceeded', (e) => {
    time.add(e.commandName, e.duration);
  });
  client.on('commandFailed', (e) => {
    time.add(e.commandName, e.duration);
  });
  const orders = client
    .db(process.env.BENCH_DB ?? 'bench_outbox')
    .collection<OrderDocument>('orders');
  // The same topic schema as orders.v1, so the producer validates every event as orders' does.
  const topic = defineTopic(topicName, ordersTopic.schema);
  const producer = createEventProducer({
    kafka: createKafka({ clientId: 'bench-outbox-relay', brokers, logger }),
    source: ORDERS_SOURCE,
    metrics,
    logger,
  });

  let written = 0;
  /**
   * Writes `count` orders as orders' repository does (one insertWithOutbox each), eight at a
   * time as concurrent checkouts would; FerretDB's SQLite backend applies them one by one.
   */
  const writeOrders = async (count: number): Promise<number> => {
    const start = performance.now();
    const end = written + count;
    const writer = async (): Promise<void> => {
      for (let n = written++; n < end; n = written++) {
        const data = placedData(n);
        const event = buildOutboxEvent({
          topic: topic.name,
          type: ORDER_PLACED_TYPE,
          key: data.orderId,
          data,
        });
        const { placedAt, ...order } = data;
        await insertWithOutbox(
          orders,
          {
            _id: data.orderId,
            ...order,
            lines: [...order.lines],
            status: 'PENDING',
            createdAt: placedAt,
            updatedAt: placedAt,
            history: [{ status: 'PENDING', at: placedAt }],
            version: 0,
          },
          [event],
        );
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    written = end;
    return (performance.now() - start) / 1000;
  };

  try {
    await ensureOutboxIndexes(orders);
    const writeSeconds = await writeOrders(events);
    await producer.connect();

    let acked = 0;
    let target = events;
    let resolveDone: () => void = () => undefined;
    let done = new Promise<void>((resolve) => (resolveDone = resolve));
    const publish = outboxPublisher(producer, [topic]);
    // Wired as the service runtime wires orders' relay (runtime.relay): the outbox publisher
    // over the idempotent event producer, poison errors buried, writes serialised per order,
    // the default batch size and scan interval.
    const outboxRelay = createOutboxRelay({
      collections: orders,
      isPoison: isPoisonPublishError,
      mutex: createKeyedMutex(),
      metrics,
      logger,
      // The only addition: count (and time) the broker's acknowledgements, to stop the clock
      // at the last one.
      publish: async (event) => {
        const start = performance.now();
        await publish(event);
        time.add('publish', performance.now() - start);
        acked++;
        if (acked === target) resolveDone();
      },
    });
    const drained = (): string => `the relay had published ${String(acked)} of ${String(target)}`;

    time.on = true;
    const began = performance.now();
    outboxRelay.start();
    await within(done, drained);
    const seconds = (performance.now() - began) / 1000;
    time.on = false;

    let wokenSeconds: number | undefined;
    if (woken > 0) {
      target += woken;
      done = new Promise<void>((resolve) => (resolveDone = resolve));
      const wokenStart = performance.now();
      await writeOrders(woken);
      await within(done, drained);
      wokenSeconds = (performance.now() - wokenStart) / 1000;
    }
    await outboxRelay.stop();
    // A scan after the stop: nothing may be left to send.
    const after = await outboxRelay.runOnce();
    return {
      events: acked - woken,
      seconds,
      writeSeconds,
      pending: after.pending,
      calls: time.calls,
      ...(wokenSeconds === undefined ? {} : { wokenSeconds }),
    };
  } finally {
    await producer.disconnect();
    await client.close();
    await telemetry.shutdown();
  }
}

async function raw(): Promise<SideResult> {
  const kafka = new Kafka({ clientId: 'bench-outbox-raw', brokers, logLevel: logLevel.NOTHING });
  // The guarantees the platform's producer gives the relay (idempotent, one request in flight,
  // acks from all in-sync replicas), so the pair differs by the relay, not by producer settings.
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    const send = async (): Promise<void> => {
      for (let sent = 0; sent < events; sent += batch) {
        // Built as they go out, as a hand-written producer builds its records: the same
        // envelope and data as the relay's, minus its trace headers.
        const messages = Array.from({ length: Math.min(batch, events - sent) }, (_, i) => {
          const data = placedData(sent + i);
          return encodeCloudEvent({
            specversion: '1.0',
            id: randomUUID(),
            source: ORDERS_SOURCE,
            type: ORDER_PLACED_TYPE,
            time: data.placedAt,
            datacontenttype: 'application/json',
            partitionkey: data.orderId,
            data,
          });
        });
        await producer.send({ topic: topicName, acks: -1, messages });
      }
    };
    const began = performance.now();
    await within(send(), () => 'the raw producer had not finished');
    return { events, seconds: (performance.now() - began) / 1000 };
  } finally {
    await producer.disconnect();
  }
}

if (mode !== 'relay' && mode !== 'raw') throw new Error('BENCH_MODE must be relay or raw');
if (topicName === '') throw new Error('BENCH_TOPIC is required');
const result = await (mode === 'relay' ? relay() : raw());
process.stdout.write(`${JSON.stringify(result)}\n`);
