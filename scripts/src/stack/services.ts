import { availableParallelism } from 'node:os';
import {
  freePort,
  httpOk,
  serviceMain,
  startProcess,
  tempDir,
  type ManagedProcess,
} from '@emporium/harness';
import { SERVICES, type ServiceName, type ServiceSpec } from './topology.js';

/**
 * Variables every local run sets: the gateway mints demo tokens with its dev issuer (never
 * enabled in the chart).
 */
const LOCAL_ENV: Partial<Record<ServiceName, Record<string, string>>> = {
  gateway: { DEV_ISSUER_ENABLED: 'true' },
};

/** Where the infrastructure listens. */
export interface Infrastructure {
  kafkaBrokers: readonly string[];
  mongoUrl: string;
  redisUrl: string;
  /** OTLP/HTTP endpoint; telemetry is off without it. */
  otlpHttpUrl?: string;
}

/** A started service process. */
export interface RunningService {
  name: ServiceName;
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  process: ManagedProcess;
}

/** Options of {@link startServices}. */
export interface StartServicesOptions {
  infra: Infrastructure;
  /** Port per service; a free one when absent. */
  ports?: Partial<Record<ServiceName, number>>;
  /** Extra variables per service (e.g. `PSP_DECLINE_RATE` for payments). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Only these (with whatever they call); all by default. */
  only?: readonly ServiceName[];
  logLevel?: string;
  /** URL a service calls to reach another; its own URL by default (no sidecar). */
  upstreamUrl?: (caller: ServiceName, callee: ServiceName, calleeUrl: string) => string;
}

/** The running services and how to stop them (in reverse start order). */
export interface RunningServices {
  services: Record<string, RunningService>;
  stop: () => Promise<void>;
}

function environment(
  spec: ServiceSpec,
  port: number,
  options: StartServicesOptions,
  urls: Record<string, string>,
): NodeJS.ProcessEnv {
  const { infra } = options;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    LOG_LEVEL: options.logLevel ?? 'warn',
    OTEL_SERVICE_NAME: spec.name,
    DEPLOYMENT_ENVIRONMENT: 'local',
    TELEMETRY_ENABLED: infra.otlpHttpUrl ? 'true' : 'false',
    ...(infra.otlpHttpUrl ? { OTEL_EXPORTER_OTLP_ENDPOINT: infra.otlpHttpUrl } : {}),
  };
  if (spec.uses.includes('kafka')) env.KAFKA_BROKERS = infra.kafkaBrokers.join(',');
  if (spec.uses.includes('mongodb')) env.MONGO_URL = infra.mongoUrl;
  if (spec.uses.includes('redis')) env.REDIS_URL = infra.redisUrl;
  for (const upstream of spec.upstreams) {
    const url = urls[upstream];
    if (!url) throw new Error(`${spec.name} needs ${upstream}, which is not started`);
    env[`UPSTREAM_${upstream.toUpperCase()}_URL`] =
      options.upstreamUrl?.(spec.name, upstream, url) ?? url;
  }
  return { ...env, ...LOCAL_ENV[spec.name], ...options.env?.[spec.name] };
}

/** The services `only` names, with everything they call. */
function selection(only: readonly ServiceName[] | undefined): ServiceSpec[] {
  if (!only) return [...SERVICES];
  const wanted = new Set<ServiceName>();
  const add = (name: ServiceName): void => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const upstream of SERVICES.find((s) => s.name === name)?.upstreams ?? []) add(upstream);
  };
  only.forEach(add);
  return SERVICES.filter((s) => wanted.has(s.name));
}

/**
 * Starts the store's services as Node processes from their TypeScript sources (through tsx,
 * with the telemetry preload, as `npm run dev` does), several at once, as a Deployment rollout
 * would: none needs another to be up to start (a call to one still starting is a 503 to
 * retry), so the stack is ready when its slowest service is. A failure stops what was started
 * and quotes the failing service's log.
 */
export async function startServices(options: StartServicesOptions): Promise<RunningServices> {
  const specs = selection(options.only);
  const started: RunningService[] = [];
  const urls: Record<string, string> = {};
  for (const spec of specs) {
    const port = options.ports?.[spec.name] ?? (await freePort());
    urls[spec.name] = `http://127.0.0.1:${String(port)}`;
  }
  const stop = async (): Promise<void> => {
    // Callers first (the selection is in dependency order), as their requests drain.
    const order = specs.flatMap((spec) => started.filter((s) => s.name === spec.name)).reverse();
    for (const service of order) await service.process.stop();
    started.length = 0;
  };
  const startOne = async (spec: ServiceSpec): Promise<void> => {
    const url = urls[spec.name] ?? '';
    const { command, args, cwd } = serviceMain(spec.name);
    const env = environment(spec, Number(new URL(url).port), options, urls);
    const proc = await startProcess({
      name: spec.name,
      command,
      args,
      cwd,
      workDir: await tempDir(spec.name),
      env,
      readyTimeoutMs: 90_000,
      stopGraceMs: 15_000,
      ready: () => httpOk(`${url}/readyz`),
    });
    started.push({ name: spec.name, url, process: proc });
  };
  // Starting is mostly CPU (tsx compiling, modules loading) with some waiting (topics,
  // indexes): one per core at a time, so a start is never starved into its ready timeout.
  const results: PromiseSettledResult<void>[] = [];
  const queue = [...specs];
  const worker = async (): Promise<void> => {
    for (let spec = queue.shift(); spec; spec = queue.shift()) {
      const [result] = await Promise.allSettled([startOne(spec)]);
      results.push(result);
      // One failed: start no more (the started ones are stopped below).
      if (result.status === 'rejected') queue.length = 0;
    }
  };
  await Promise.all(Array.from({ length: availableParallelism() }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const services = Object.fromEntries(
    specs.flatMap((spec) => started.filter((s) => s.name === spec.name)).map((s) => [s.name, s]),
  );
  return { services, stop };
}
