import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient, MongoServerError } from 'mongodb';
import { startAlertmanager } from './components/alertmanager.js';
import { startEnvoy } from './components/envoy.js';
import { helm } from './components/helm.js';
import { startJaeger } from './components/jaeger.js';
import { startKafka } from './components/kafka.js';
import { startKubernetes } from './components/kubernetes.js';
import { startMongo } from './components/mongo.js';
import { startPrometheus } from './components/prometheus.js';
import { startRedis } from './components/redis.js';
import { freePort, tempDir } from './process.js';

/** A round trip through one real component: start it, use it as a client would, stop it. */
export interface ComponentCheck {
  /** As printed by infra:check: kafka, redis, mongodb, envoy, prometheus, alertmanager, jaeger, helm, kubernetes. */
  name: string;
  run(): Promise<void>;
}

/** Thrown when a component answered, but not with what the round trip expected. */
export class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
}

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected) {
    throw new CheckFailed(`${what}: expected ${String(expected)}, got ${String(actual)}`);
  }
}

/** Polls `probe` until it returns a value or the time runs out. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new CheckFailed(`${what} did not happen within ${String(timeoutMs)} ms${why}`);
    }
    await sleep(200);
  }
}

/** Produces one record with an idempotent producer and reads it back in a consumer group. */
async function kafkaRoundTrip(): Promise<void> {
  const server = await startKafka();
  const kafka = new Kafka({
    brokers: server.brokers,
    clientId: 'infra-check',
    logLevel: logLevel.NOTHING,
  });
  const topic = `infra-check.${randomUUID()}`;
  const groupId = `infra-check-${randomUUID()}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    const value = randomUUID();
    await producer.send({ topic, acks: -1, messages: [{ key: 'check', value }] });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = new Promise<string>((resolve) => {
      void consumer.run({
        eachMessage: ({ message }) => {
          resolve(message.value?.toString() ?? '');
          return Promise.resolve();
        },
      });
    });
    const got = await Promise.race([
      received,
      sleep(30_000, undefined, { ref: false }).then(() => {
        throw new CheckFailed('no record consumed within 30 s');
      }),
    ]);
    expectEqual('consumed value', got, value);
    const committed = await eventually('offset commit', async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const offset = offsets?.partitions[0]?.offset;
      return offset === '1' ? offset : undefined;
    });
    expectEqual('committed offset', committed, '1');
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await server.stop();
  }
}

async function redisRoundTrip(): Promise<void> {
  const server = await startRedis();
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    const value = randomUUID();
    await client.set('infra-check', value, 'EX', 60);
    expectEqual('GET after SET', await client.get('infra-check'), value);
  } finally {
    client.disconnect();
    await server.stop();
  }
}

/** MongoDB duplicate key error code. */
const DUPLICATE_KEY = 11000;

async function mongoRoundTrip(): Promise<void> {
  const server = await startMongo();
  const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5000 });
  try {
    const collection = client.db('infra_check').collection<{ sku: string; name: string }>('items');
    await collection.createIndex({ sku: 1 }, { unique: true });
    await collection.insertOne({ sku: 'SKU-1', name: 'first' });
    const found = await collection.findOne({ sku: 'SKU-1' });
    expectEqual('found name', found?.name, 'first');
    const duplicate = await collection.insertOne({ sku: 'SKU-1', name: 'second' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!(duplicate instanceof MongoServerError) || duplicate.code !== DUPLICATE_KEY) {
      throw new CheckFailed(
        `a duplicate sku was not rejected by the unique index: ${String(duplicate)}`,
      );
    }
  } finally {
    await client.close();
    await server.stop();
  }
}

async function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

/** A static-cluster Envoy bootstrap that proxies every request on `listenPort` to `upstreamPort`. */
export function proxyBootstrap(listenPort: number, upstreamPort: number): Record<string, unknown> {
  const address = (port: number): Record<string, unknown> => ({
    socket_address: { address: '127.0.0.1', port_value: port },
  });
  return {
    static_resources: {
      listeners: [
        {
          name: 'ingress',
          address: address(listenPort),
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'ingress',
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [
                            {
                              match: { prefix: '/' },
                              route: { cluster: 'upstream', timeout: '5s' },
                            },
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type':
                            'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'upstream',
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'upstream',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: address(upstreamPort) } }] }],
          },
        },
      ],
    },
  };
}

async function envoyRoundTrip(): Promise<void> {
  const token = randomUUID();
  const upstream = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${token} ${req.url ?? ''}`);
  });
  const upstreamPort = await listen(upstream);
  const listenPort = await freePort();
  const envoy = await startEnvoy({ bootstrap: proxyBootstrap(listenPort, upstreamPort) });
  try {
    const response = await fetch(`http://127.0.0.1:${String(listenPort)}/hello`);
    expectEqual('proxied body', await response.text(), `${token} /hello`);
    // Envoy stamps this header on responses it routed: proof the request went through it.
    if (!response.headers.has('x-envoy-upstream-service-time')) {
      throw new CheckFailed('the response did not come through Envoy');
    }
    const stats = await (await fetch(`${envoy.adminUrl}/stats/prometheus`)).text();
    if (!/envoy_cluster_upstream_rq_total\{envoy_cluster_name="upstream"\} 1\b/.test(stats)) {
      throw new CheckFailed('Envoy stats do not count the proxied request');
    }
  } finally {
    await envoy.stop();
    await close(upstream);
  }
}

async function prometheusRoundTrip(): Promise<void> {
  const value = Math.floor(Math.random() * 1e6);
  const target = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(
      `# HELP infra_check_value A value the check expects back.\n# TYPE infra_check_value gauge\ninfra_check_value ${String(value)}\n`,
    );
  });
  const port = await listen(target);
  const prometheus = await startPrometheus({
    scrapeInterval: '1s',
    scrapeConfigs: [
      { job_name: 'infra-check', static_configs: [{ targets: [`127.0.0.1:${String(port)}`] }] },
    ],
  });
  try {
    const sample = await eventually('a scrape of the check target', async () => {
      const [first] = await prometheus.query('infra_check_value{job="infra-check"}');
      return first;
    });
    expectEqual('scraped value', Number(sample.value[1]), value);
  } finally {
    await prometheus.stop();
    await close(target);
  }
}

interface JaegerTraceResponse {
  data?: { traceID: string; spans: { operationName: string }[] }[];
}

async function jaegerRoundTrip(): Promise<void> {
  const jaeger = await startJaeger();
  try {
    const traceId = randomBytes(16).toString('hex');
    const spanName = `infra-check-${randomUUID()}`;
    const now = BigInt(Date.now()) * 1_000_000n;
    // OTLP/HTTP with the JSON encoding: trace and span ids are hex strings there.
    const body = {
      resourceSpans: [
        {
          resource: {
            attributes: [{ key: 'service.name', value: { stringValue: 'infra-check' } }],
          },
          scopeSpans: [
            {
              scope: { name: 'infra-check' },
              spans: [
                {
                  traceId,
                  spanId: randomBytes(8).toString('hex'),
                  name: spanName,
                  kind: 1,
                  startTimeUnixNano: String(now),
                  endTimeUnixNano: String(now + 1_000_000n),
                },
              ],
            },
          ],
        },
      ],
    };
    const accepted = await fetch(`${jaeger.otlpHttpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expectEqual('OTLP export status', accepted.status, 200);
    const names = await eventually('the span in the query API', async () => {
      const response = await fetch(`${jaeger.queryUrl}/api/traces/${traceId}`);
      if (!response.ok) return undefined;
      const trace = (await response.json()) as JaegerTraceResponse;
      return trace.data?.[0]?.spans.map((s) => s.operationName);
    });
    expectEqual('span name', names[0], spanName);
  } finally {
    await jaeger.stop();
  }
}

async function helmRoundTrip(): Promise<void> {
  const dir = await tempDir('helm-chart');
  try {
    const chart = join(dir, 'tiny');
    await mkdir(join(chart, 'templates'), { recursive: true });
    await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: tiny\nversion: 0.1.0\n');
    await writeFile(join(chart, 'values.yaml'), 'greeting: hello\n');
    await writeFile(
      join(chart, 'templates', 'configmap.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-tiny\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
    );
    const greeting = randomUUID();
    const { stdout } = await helm(['template', 'check', chart, '--set', `greeting=${greeting}`]);
    if (!stdout.includes('name: check-tiny') || !stdout.includes(`greeting: "${greeting}"`)) {
      throw new CheckFailed(`helm template did not render the value:\n${stdout}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts the control plane, writes a ConfigMap through the API server and reads it back. */
async function kubernetesRoundTrip(): Promise<void> {
  const cluster = await startKubernetes({ nodes: 1 });
  try {
    const value = randomUUID();
    await cluster.kubectl(['create', 'configmap', 'infra-check', `--from-literal=value=${value}`]);
    const { stdout } = await cluster.kubectl([
      'get',
      'configmap',
      'infra-check',
      '-o',
      'jsonpath={.data.value}',
    ]);
    expectEqual('ConfigMap value read back', stdout, value);
  } finally {
    await cluster.stop();
  }
}

/** An alert posted to Alertmanager's API reaches its webhook receiver, then resolves. */
async function alertmanagerRoundTrip(): Promise<void> {
  const received: { status: string; alerts: { labels: Record<string, string> }[] }[] = [];
  const webhook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString()) as (typeof received)[number]);
      res.end();
    });
  });
  const port = await listen(webhook);
  const alertmanager = await startAlertmanager({
    webhookUrl: `http://127.0.0.1:${String(port)}/alerts`,
  });
  const name = `InfraCheck${randomBytes(3).toString('hex')}`;
  const post = (endsAt: Date) =>
    fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: name }, endsAt: endsAt.toISOString() }]),
    });
  try {
    expectEqual('POST /api/v2/alerts', (await post(new Date(Date.now() + 60_000))).status, 200);
    await eventually('the firing alert at the webhook', () =>
      Promise.resolve(
        received.find((n) => n.status === 'firing' && n.alerts[0]?.labels.alertname === name),
      ),
    );
    await post(new Date());
    await eventually('the resolved alert at the webhook', () =>
      Promise.resolve(received.find((n) => n.status === 'resolved')),
    );
  } finally {
    await alertmanager.stop();
    await close(webhook);
  }
}

/** Every component's round trip, in the order infra:check prints them. */
export const COMPONENT_CHECKS: readonly ComponentCheck[] = [
  { name: 'kafka', run: kafkaRoundTrip },
  { name: 'redis', run: redisRoundTrip },
  { name: 'mongodb', run: mongoRoundTrip },
  { name: 'envoy', run: envoyRoundTrip },
  { name: 'prometheus', run: prometheusRoundTrip },
  { name: 'alertmanager', run: alertmanagerRoundTrip },
  { name: 'jaeger', run: jaegerRoundTrip },
  { name: 'helm', run: helmRoundTrip },
  { name: 'kubernetes', run: kubernetesRoundTrip },
];
