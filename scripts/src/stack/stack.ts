import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cacheRoot,
  startJaeger,
  startKafka,
  startMongo,
  startPrometheus,
  startRedis,
  type JaegerServer,
  type ManagedProcess,
  type PrometheusServer,
  type ScrapeConfig,
} from '@emporium/harness';
import type { TokenIssuer } from '@emporium/platform/testing';
import type { StackPorts } from './ports.js';
import { startServices } from './services.js';
import {
  behindSidecarEnv,
  sidecarEgressUrl,
  startSidecars,
  type RunningSidecar,
} from './sidecars.js';
import { SERVICES, type ServiceName } from './topology.js';
import { rulesFile } from '../observability/rules/file.js';

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
  /** Prometheus' scrape interval (`5s` by default); rules are evaluated as often. */
  scrapeInterval?: string;
  /**
   * Prometheus' rules: the store's SLO recording rules and alerts (the chart's rule file) by
   * default; a test passes its own (e.g. with shorter `for` durations).
   */
  rules?: string;
  /**
   * Keep every process's log here, `<name>.log` (appended to across restarts, kept after
   * stop): `npm start` keeps them in its data folder. By default each log lives in its
   * process's temporary folder and goes with it.
   */
  logDir?: string;
  /**
   * Run the services from their sources through tsx (the default), or from their compiled
   * `dist/` (call buildServices() first), as `npm start` does: about 165 MiB less each.
   */
  servicesFrom?: 'src' | 'dist';
  /** Kafka's maximum heap in MiB (512 by default; a laptop's `npm start` gives it 256). */
  kafkaHeapMb?: number;
  /** Alertmanagers Prometheus sends its alerts to (none by default). */
  alertmanagers?: readonly string[];
  /** Told before each step starts. */
  progress?: (step: string, message: string) => void;
}

/** One started infrastructure part: how to stop it and the addresses it lists. */
interface StartedPart {
  stop: () => Promise<void>;
  parts: StackPart[];
}

/** The processes of a stack a test may act on one at a time: infrastructure, apps, sidecars. */
export type ControlName = 'kafka' | 'mongodb' | 'redis' | ServiceName | `${ServiceName}-envoy`;

/** One process of a running stack, to stop (or kill) and start again on its ports and data. */
export interface ProcessControl {
  readonly name: ControlName;
  /** Its process id; undefined once it has exited, until the next start(). */
  readonly pid: number | undefined;
  /** How its latest instance ended (exit code or signal); undefined while it runs. */
  readonly exit: number | string | undefined;
  /** Its latest instance's log. */
  readonly logFile: string;
  /**
   * Sends `signal` and resolves once the process has exited: at once for SIGKILL, after its
   * graceful shutdown for SIGTERM (which is cut short by a SIGKILL after a minute).
   */
  kill(signal: NodeJS.Signals): Promise<void>;
  /**
   * Starts it again on the same ports, data folder and environment; resolves once it is
   * ready. Only after it has exited (Redis comes back empty: it keeps no data).
   */
  start(): Promise<void>;
  /**
   * Services only, when they listen with HTTP_REUSE_PORT=true: a rolling update's step, i.e. a
   * new process on the same port, then SIGTERM to the old one once the new one listens;
   * resolves when the old one has drained and exited and the new one is ready.
   */
  readonly replace?: () => Promise<void>;
}

/** A running stack. */
export interface Stack {
  /** Every part, in start order, with its URL. */
  readonly parts: readonly StackPart[];
  /** Where clients reach the store (the gateway's sidecar, or the gateway). */
  readonly gatewayUrl?: string;
  readonly jaeger?: JaegerServer;
  readonly prometheus?: PrometheusServer;
  /** The handle of one process (the fault suite's kills and restarts). */
  readonly control: (name: ControlName) => ProcessControl;
  /** Every process {@link control} knows (all but Jaeger and Prometheus), in start order. */
  readonly controlled: () => readonly ControlName[];
  /** The services' workload-token issuer (tests mint a service's token with it). */
  readonly identity?: TokenIssuer;
  /** Stops everything, in reverse start order. */
  readonly stop: () => Promise<void>;
}

/** A started process the stack can start again: what the harness' start functions return. */
interface Launched {
  readonly process: ManagedProcess;
  readonly stop: () => Promise<void>;
}

/** How long kill() waits for a process to exit before it sends SIGKILL. */
const KILL_GRACE_MS = 60_000;

/** Sends `signal` to `proc` and waits until it has exited (SIGKILL after the grace period). */
async function signalAndWait(proc: ManagedProcess, signal: NodeJS.Signals): Promise<void> {
  if (!proc.running()) return;
  process.kill(proc.pid, signal);
  const deadline = Date.now() + KILL_GRACE_MS;
  let forced = false;
  while (proc.running()) {
    if (!forced && Date.now() > deadline) {
      process.kill(proc.pid, 'SIGKILL');
      forced = true;
    }
    await sleep(25);
  }
}

/**
 * The control of one process the stack started with `launch`, and how the stack stops whatever
 * instance of it runs at the end (a killed one only has its log and folder cleaned up).
 */
function controlled(
  name: ControlName,
  first: Launched,
  launch: () => Promise<Launched>,
): { control: ProcessControl; stop: () => Promise<void> } {
  let current = first;
  return {
    control: {
      name,
      get pid() {
        return current.process.running() ? current.process.pid : undefined;
      },
      get exit() {
        return current.process.exit();
      },
      get logFile() {
        return current.process.logFile;
      },
      kill: (signal) => signalAndWait(current.process, signal),
      start: async () => {
        if (current.process.running()) throw new Error(`${name} is still running`);
        await current.stop();
        current = await launch();
      },
    },
    stop: () => current.stop(),
  };
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
  /** Where a process keeps its log when the stack keeps logs (`logDir`). */
  const logIn = (name: string): { logFile?: string } =>
    options.logDir ? { logFile: join(options.logDir, `${name}.log`) } : {};
  const parts: StackPart[] = [];
  const stops: (() => Promise<void>)[] = [];
  let jaeger: JaegerServer | undefined;
  let prometheus: PrometheusServer | undefined;
  const stop = async (): Promise<void> => {
    for (const stopOne of stops.reverse()) await stopOne();
    stops.length = 0;
  };
  const controls = new Map<ControlName, ProcessControl>();
  const control = (name: ControlName): ProcessControl => {
    const found = controls.get(name);
    if (!found) throw new Error(`${name} is not a process of this stack`);
    return found;
  };
  const controlNames = (): ControlName[] => [...controls.keys()];
  /** Registers `first` under `name` and hands back its stop, which stops its latest instance. */
  const keep = (
    name: ControlName,
    first: Launched,
    launch: () => Promise<Launched>,
  ): (() => Promise<void>) => {
    const handle = controlled(name, first, launch);
    controls.set(name, handle.control);
    return handle.stop;
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
          const launch = (): ReturnType<typeof startKafka> =>
            startKafka({
              port: ports.kafka,
              dataDir: join(options.dataDir, 'kafka'),
              ...logIn('kafka'),
              ...(options.kafkaHeapMb ? { heapMb: options.kafkaHeapMb } : {}),
            });
          const kafka = await launch();
          return {
            stop: keep('kafka', kafka, launch),
            parts: [{ name: 'kafka', url: kafka.brokers.join(',') }],
          };
        }
        case 'redis': {
          const launch = (): ReturnType<typeof startRedis> =>
            startRedis({ port: ports.redis, ...logIn('redis') });
          const redis = await launch();
          return { stop: keep('redis', redis, launch), parts: [{ name: 'redis', url: redis.url }] };
        }
        case 'mongodb': {
          const launch = (): ReturnType<typeof startMongo> =>
            startMongo({
              port: ports.mongodb,
              dataDir: join(options.dataDir, 'ferretdb'),
              ...logIn('mongodb'),
            });
          const mongo = await launch();
          return {
            stop: keep('mongodb', mongo, launch),
            parts: [{ name: 'mongodb (FerretDB)', url: mongo.url }],
          };
        }
        case 'jaeger': {
          const started = await startJaeger({
            ...logIn('jaeger'),
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
          const rules = join(options.dataDir, 'prometheus-rules.yaml');
          await writeFile(rules, options.rules ?? rulesFile());
          const started = await startPrometheus({
            ...logIn('prometheus'),
            ruleFiles: [rules],
            ...(options.alertmanagers ? { alertmanagers: options.alertmanagers } : {}),
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
      return {
        parts,
        control,
        controlled: controlNames,
        stop,
        ...(jaeger ? { jaeger } : {}),
        ...(prometheus ? { prometheus } : {}),
      };
    }

    progress('services', `starting ${SERVICES.map((s) => s.name).join(', ')}`);
    const running = await startServices({
      ...(options.logDir ? { logDir: options.logDir } : {}),
      ...(options.servicesFrom ? { from: options.servicesFrom } : {}),
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
    for (const { name } of SERVICES) {
      controls.set(name, {
        name,
        get pid() {
          const proc = running.services[name]?.process;
          return proc?.running() ? proc.pid : undefined;
        },
        get exit() {
          return running.services[name]?.process.exit();
        },
        get logFile() {
          return running.services[name]?.process.logFile ?? '';
        },
        kill: async (signal) => {
          const proc = running.services[name]?.process;
          if (proc) await signalAndWait(proc, signal);
        },
        start: async () => {
          await running.restart(name);
        },
        replace: async () => {
          await running.replace(name);
        },
      });
    }
    // Sidecars stop after the apps, as on Kubernetes: an app draining its last requests still
    // needs its Envoy to reach the services it calls.
    const sidecarsStarted: RunningSidecar[] = [];
    const sidecarStops: (() => Promise<void>)[] = [];
    stops.push(async () => {
      await running.stop();
      for (const stopOne of sidecarStops.reverse()) await stopOne();
    });
    if (sidecars) {
      progress('sidecars', 'starting one Envoy per service');
      sidecarsStarted.push(
        ...(await startSidecars(
          SERVICES.map((s) => s.name),
          ports,
          tracing,
          options.logDir,
        )),
      );
      for (const sidecar of sidecarsStarted) {
        const launch = async (): Promise<RunningSidecar> => {
          const [again] = await startSidecars([sidecar.service], ports, tracing, options.logDir);
          if (!again) throw new Error(`the sidecar of ${sidecar.service} did not start`);
          return again;
        };
        sidecarStops.push(keep(`${sidecar.service}-envoy`, sidecar, launch));
      }
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
      identity: running.identity,
      control,
      controlled: controlNames,
      stop,
      ...(jaeger ? { jaeger } : {}),
      ...(prometheus ? { prometheus } : {}),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
