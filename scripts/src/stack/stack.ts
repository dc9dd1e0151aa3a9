import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cacheRoot,
  startJaeger,
  startKafka,
  startMongo,
  startPrometheus,
  startRedis,
  type JaegerServer,
  type PrometheusServer,
  type ScrapeConfig,
} from '@emporium/harness';
import type { StackPorts } from './ports.js';
import { startServices } from './services.js';
import {
  behindSidecarEnv,
  sidecarEgressUrl,
  startSidecars,
  type RunningSidecar,
} from './sidecars.js';
import { SERVICES, type ServiceName } from './topology.js';

/**
 * Where `npm start` keeps its data across runs (Kafka topics, FerretDB databases). The suffix
 * is the layout's version: v2 keys every aggregate by its natural id (`_id` = order id, sku…),
 * which documents of the first layout (ObjectId `_id`) are not found by.
 */
export const LOCAL_STACK_DATA = join(cacheRoot(), 'stack-data-v2');

/** Jobs whose targets come and go (a load run): Prometheus watches a file per job here. */
function targetsDir(dataDir: string): string {
  return join(dataDir, 'prometheus-targets');
}

/**
 * Adds a target to the stack's Prometheus while a short-lived process (loadgen) runs; the
 * returned function takes it out again. Prometheus notices the file within seconds.
 */
export async function registerScrapeTarget(
  dataDir: string,
  job: 'loadgen',
  port: number,
): Promise<() => Promise<void>> {
  await mkdir(targetsDir(dataDir), { recursive: true });
  const file = join(targetsDir(dataDir), `${job}.json`);
  await writeFile(file, JSON.stringify([{ targets: [`127.0.0.1:${String(port)}`] }]));
  return () => rm(file, { force: true });
}

/** The infrastructure parts of the stack, in start order. */
export const INFRASTRUCTURE = ['kafka', 'redis', 'mongodb', 'jaeger', 'prometheus'] as const;

/** One of {@link INFRASTRUCTURE}. */
export type InfrastructurePart = (typeof INFRASTRUCTURE)[number];

/** What the services cannot start without. */
export const SERVICES_NEED: readonly InfrastructurePart[] = ['kafka', 'mongodb', 'redis'];

/** A started part of the stack: a row of `npm start`'s URL table. */
export interface StackPart {
  readonly name: string;
  readonly url: string;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  ports: StackPorts;
  /** Kafka's and FerretDB's data live here (kept across runs by `npm start`). */
  dataDir: string;
  /** The infrastructure to start; all of it by default. */
  infrastructure?: readonly InfrastructurePart[];
  /** Start the store's services (needs Kafka, MongoDB and Redis); true by default. */
  services?: boolean;
  /** Put an Envoy sidecar in front of every service; true by default. */
  sidecars?: boolean;
  /** Extra variables per service. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  logLevel?: string;
  /** Prometheus' scrape interval (`5s` by default). */
  scrapeInterval?: string;
  /** Told before each step starts. */
  progress?: (step: string, message: string) => void;
}

/** One started infrastructure part: how to stop it and the addresses it lists. */
interface StartedPart {
  stop: () => Promise<void>;
  parts: StackPart[];
}

/** A running stack. */
export interface Stack {
  /** Every part, in start order, with its URL. */
  readonly parts: readonly StackPart[];
  /** Where clients reach the store (the gateway's sidecar, or the gateway). */
  readonly gatewayUrl?: string;
  readonly jaeger?: JaegerServer;
  readonly prometheus?: PrometheusServer;
  /** Stops everything, in reverse start order. */
  readonly stop: () => Promise<void>;
}

const url = (port: number): string => `http://127.0.0.1:${String(port)}`;

/**
 * Prometheus' scrape jobs for the stack: itself, loadgen while it runs, each service's app
 * (`job` = the service's name, as on Kubernetes) and, with sidecars, every Envoy
 * (`job="envoy"`, `service` label).
 */
function scrapeConfigs(ports: StackPorts, sidecars: boolean, dataDir: string): ScrapeConfig[] {
  const at = (port: number): string => `127.0.0.1:${String(port)}`;
  return [
    { job_name: 'prometheus', static_configs: [{ targets: [at(ports.prometheus)] }] },
    // loadgen runs now and then (`npm run load`), so it is a target only while it runs.
    {
      job_name: 'loadgen',
      file_sd_configs: [{ files: [join(targetsDir(dataDir), 'loadgen.json')] }],
    },
    ...SERVICES.map(({ name }) => ({
      job_name: name,
      static_configs: [
        { targets: [at(sidecars ? ports.services[name].app : ports.services[name].service)] },
      ],
    })),
    ...(sidecars
      ? [
          {
            job_name: 'envoy',
            metrics_path: '/stats/prometheus',
            static_configs: SERVICES.map(({ name }) => ({
              targets: [at(ports.services[name].envoyAdmin)],
              labels: { service: name },
            })),
          },
        ]
      : []),
  ];
}

/**
 * Starts the local stack: the infrastructure, then every service, then their Envoy sidecars,
 * each step waiting for readiness. `npm start` runs it on the fixed ports, the end-to-end test
 * on free ones. A failure stops whatever had started and rethrows.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { ports } = options;
  const infrastructure = options.infrastructure ?? INFRASTRUCTURE;
  const withServices = options.services ?? true;
  const sidecars = withServices && (options.sidecars ?? true);
  const tracing = infrastructure.includes('jaeger');
  const progress = options.progress ?? ((): void => undefined);
  const parts: StackPart[] = [];
  const stops: (() => Promise<void>)[] = [];
  let jaeger: JaegerServer | undefined;
  let prometheus: PrometheusServer | undefined;
  const stop = async (): Promise<void> => {
    for (const stopOne of stops.reverse()) await stopOne();
    stops.length = 0;
  };

  try {
    if (withServices) {
      const missing = SERVICES_NEED.filter((part) => !infrastructure.includes(part));
      if (missing.length > 0) throw new Error(`the services need ${missing.join(', ')}`);
    }
    // The parts need nothing from each other to start: all at once, then listed in order.
    const startPart = async (part: InfrastructurePart): Promise<StartedPart> => {
      progress(part, 'starting');
      switch (part) {
        case 'kafka': {
          const kafka = await startKafka({
            port: ports.kafka,
            dataDir: join(options.dataDir, 'kafka'),
          });
          return { stop: kafka.stop, parts: [{ name: 'kafka', url: kafka.brokers.join(',') }] };
        }
        case 'redis': {
          const redis = await startRedis({ port: ports.redis });
          return { stop: redis.stop, parts: [{ name: 'redis', url: redis.url }] };
        }
        case 'mongodb': {
          const mongo = await startMongo({
            port: ports.mongodb,
            dataDir: join(options.dataDir, 'ferretdb'),
          });
          return { stop: mongo.stop, parts: [{ name: 'mongodb (FerretDB)', url: mongo.url }] };
        }
        case 'jaeger': {
          const started = await startJaeger({
            ports: {
              otlpGrpc: ports.otlpGrpc,
              otlpHttp: ports.otlpHttp,
              query: ports.jaegerUi,
              queryGrpc: ports.jaegerQueryGrpc,
            },
          });
          jaeger = started;
          return {
            stop: started.stop,
            parts: [
              { name: 'jaeger UI', url: started.queryUrl },
              { name: 'OTLP/HTTP', url: started.otlpHttpUrl },
              { name: 'OTLP/gRPC', url: started.otlpGrpcEndpoint },
            ],
          };
        }
        case 'prometheus': {
          // Started before the services, with every target declared: each turns up once its
          // process is ready. Prometheus watches the folder of file targets only if it exists.
          await mkdir(targetsDir(options.dataDir), { recursive: true });
          const started = await startPrometheus({
            port: ports.prometheus,
            scrapeInterval: options.scrapeInterval ?? '5s',
            scrapeConfigs: withServices
              ? scrapeConfigs(ports, sidecars, options.dataDir)
              : scrapeConfigs(ports, false, options.dataDir).slice(0, 1),
          });
          prometheus = started;
          return { stop: started.stop, parts: [{ name: 'prometheus', url: started.url }] };
        }
      }
    };
    const results = await Promise.allSettled(infrastructure.map(startPart));
    for (const result of results) {
      if (result.status === 'fulfilled') {
        stops.push(result.value.stop);
        parts.push(...result.value.parts);
      }
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (!withServices) {
      return { parts, stop, ...(jaeger ? { jaeger } : {}), ...(prometheus ? { prometheus } : {}) };
    }

    progress('services', `starting ${SERVICES.map((s) => s.name).join(', ')}`);
    const running = await startServices({
      infra: {
        kafkaBrokers: [`127.0.0.1:${String(ports.kafka)}`],
        mongoUrl: `mongodb://127.0.0.1:${String(ports.mongodb)}/`,
        redisUrl: `redis://127.0.0.1:${String(ports.redis)}`,
        ...(tracing ? { otlpHttpUrl: url(ports.otlpHttp) } : {}),
      },
      ports: Object.fromEntries(
        SERVICES.map(({ name }) => [
          name,
          sidecars ? ports.services[name].app : ports.services[name].service,
        ]),
      ),
      env: Object.fromEntries(
        SERVICES.map(({ name }) => [
          name,
          { ...(sidecars ? behindSidecarEnv(name) : {}), ...options.env?.[name] },
        ]),
      ),
      logLevel: options.logLevel ?? 'info',
      ...(sidecars
        ? { upstreamUrl: (caller, callee) => sidecarEgressUrl(caller, callee, ports) }
        : {}),
    });
    // Sidecars stop after the apps, as on Kubernetes: an app draining its last requests still
    // needs its Envoy to reach the services it calls.
    const sidecarsStarted: RunningSidecar[] = [];
    stops.push(async () => {
      await running.stop();
      for (const sidecar of sidecarsStarted.reverse()) await sidecar.stop();
    });
    if (sidecars) {
      progress('sidecars', 'starting one Envoy per service');
      sidecarsStarted.push(
        ...(await startSidecars(
          SERVICES.map((s) => s.name),
          ports,
          tracing,
        )),
      );
      for (const sidecar of sidecarsStarted)
        parts.push({ name: sidecar.service, url: sidecar.url });
      for (const sidecar of sidecarsStarted) {
        parts.push({ name: `${sidecar.service} envoy admin`, url: sidecar.adminUrl });
      }
    } else {
      for (const service of Object.values(running.services)) {
        parts.push({ name: service.name, url: service.url });
      }
    }
    return {
      parts,
      gatewayUrl: url(ports.services.gateway.service),
      stop,
      ...(jaeger ? { jaeger } : {}),
      ...(prometheus ? { prometheus } : {}),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
