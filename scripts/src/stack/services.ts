import { readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import {
  freePort,
  httpOk,
  serviceMain,
  startProcess,
  tempDir,
  type ManagedProcess,
} from '@emporium/harness';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
import { SERVICES, type ServiceName, type ServiceSpec } from './topology.js';

/**
 * Variables every local run sets: the gateway mints demo tokens with its dev issuer (never
 * enabled in the chart).
 */
const LOCAL_ENV: Partial<Record<ServiceName, Record<string, string>>> = {
  gateway: { DEV_ISSUER_ENABLED: 'true' },
};

/**
 * The gateway's dev issuer, the users' identity provider of a local stack: its `iss`, `aud` and
 * where the gateway serves its keys (services/gateway/src/config.ts, DEV_ISSUER).
 */
const DEV_ISSUER = {
  JWT_ISSUER: 'emporium-dev-issuer',
  JWT_AUDIENCE: 'emporium',
  jwksPath: '/dev/.well-known/jwks.json',
} as const;

/** The user-token variables every service shares with the gateway. */
const USER_TOKEN_VARIABLES = [
  'JWT_JWKS_URL',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWT_ALGORITHMS',
  'JWT_TOKEN_USE',
  'JWT_JWKS_ALLOW_HTTP',
] as const;

/** How long the workload tokens the stack writes are good for, in s (a pod's are an hour). */
const SERVICE_TOKEN_TTL_SECONDS = 2 * 3600;

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
  /** Keep each service's log here as `<service>.log` (appended to, kept after stop). */
  logDir?: string;
  /**
   * Run each service from its sources through tsx (`src`, the default: no build needed), or
   * from its compiled `dist/` (after {@link buildServices}; much lighter).
   */
  from?: 'src' | 'dist';
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
  /** Each service's current process (a restart replaces its entry). */
  services: Record<string, RunningService>;
  /**
   * Starts `name` again, with the same port and environment, once its process has exited (a
   * crash or a kill); resolves when it is ready. The fault suite's restart after a kill.
   */
  restart: (name: ServiceName) => Promise<RunningService>;
  /**
   * A rolling update's step for `name`: a new process on the same port (the services must
   * listen with HTTP_REUSE_PORT=true) and, once it listens there too, SIGTERM to the old one,
   * which drains; resolves when the old one has exited and the new one is ready.
   */
  replace: (name: ServiceName) => Promise<RunningService>;
  /**
   * The stack's stand-in for a cluster's service account issuer (every service trusts its
   * workload tokens), which also signs user tokens for a stack started without the gateway.
   */
  identity: TokenIssuer;
  stop: () => Promise<void>;
}

/**
 * Who the services believe, as in a cluster: users through the gateway's identity provider
 * (its dev issuer, or whatever JWT_* the gateway was given; the stack's own issuer without a
 * gateway), and each other through workload tokens the stack writes as a kubelet projects them.
 */
function identityEnvironment(
  spec: ServiceSpec,
  options: StartServicesOptions,
  urls: Record<string, string>,
  identity: TokenIssuer,
  tokenDir: string,
): Record<string, string> {
  const gateway = options.env?.gateway ?? {};
  const users: Record<string, string> =
    gateway.JWT_ISSUER !== undefined
      ? Object.fromEntries(
          USER_TOKEN_VARIABLES.flatMap((name) => {
            const value = gateway[name];
            return value === undefined ? [] : [[name, value]];
          }),
        )
      : urls.gateway !== undefined
        ? {
            JWT_JWKS_URL: `${urls.gateway}${DEV_ISSUER.jwksPath}`,
            JWT_ISSUER: DEV_ISSUER.JWT_ISSUER,
            JWT_AUDIENCE: DEV_ISSUER.JWT_AUDIENCE,
          }
        : {
            JWT_JWKS_URL: identity.env.JWT_JWKS_URL ?? '',
            JWT_ISSUER: identity.env.JWT_ISSUER ?? '',
            JWT_AUDIENCE: identity.env.JWT_AUDIENCE ?? '',
          };
  const workloads = Object.fromEntries(
    Object.entries(identity.env).filter(([name]) => name.startsWith('SERVICE_TOKEN_')),
  );
  return {
    // The gateway keeps its own JWT_* (its dev issuer fills them in).
    ...(spec.name === 'gateway' ? {} : users),
    ...workloads,
    SERVICE_TOKEN_DIR: `${tokenDir}/${spec.name}`,
  };
}

function environment(
  spec: ServiceSpec,
  port: number,
  options: StartServicesOptions,
  urls: Record<string, string>,
  identity: Record<string, string>,
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
  return { ...env, ...identity, ...LOCAL_ENV[spec.name], ...options.env?.[spec.name] };
}

/**
 * How many sockets listen on TCP `port` (IPv4 or IPv6) on this machine, from /proc/net (Linux,
 * where SO_REUSEPORT lets several processes listen on one port, each with its own socket).
 */
async function listeners(port: number): Promise<number> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const table = await readFile(file, 'utf8').catch(() => '');
    for (const line of table.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // State 0A is LISTEN; the local address ends in the port, in hex.
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) count++;
    }
  }
  return count;
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
  const identity = await startTokenIssuer();
  const tokenDir = await tempDir('service-tokens');
  const writeTokens = async (): Promise<void> => {
    for (const spec of specs) {
      const dir = `${tokenDir}/${spec.name}`;
      await identity.writeServiceTokens(dir, spec.name, spec.upstreams, SERVICE_TOKEN_TTL_SECONDS);
    }
  };
  await writeTokens();
  // Fresh tokens long before the old ones expire, as the kubelet rewrites projected ones.
  const refresh = setInterval(
    () => {
      void writeTokens().catch(() => undefined);
    },
    (SERVICE_TOKEN_TTL_SECONDS * 1000) / 4,
  );
  refresh.unref();
  const stop = async (): Promise<void> => {
    // Callers first (the selection is in dependency order), as their requests drain.
    const order = specs.flatMap((spec) => started.filter((s) => s.name === spec.name)).reverse();
    for (const service of order) await service.process.stop();
    started.length = 0;
    clearInterval(refresh);
    await identity.stop();
    await rm(tokenDir, { recursive: true, force: true });
  };
  /** Starts one process of `spec`; `ready` defaults to its /readyz answering 200. */
  const startOne = async (spec: ServiceSpec, ready?: () => Promise<boolean>): Promise<void> => {
    const url = urls[spec.name] ?? '';
    const { command, args, cwd } = serviceMain(spec.name, options.from ?? 'src');
    const env = environment(
      spec,
      Number(new URL(url).port),
      options,
      urls,
      identityEnvironment(spec, options, urls, identity, tokenDir),
    );
    const proc = await startProcess({
      name: spec.name,
      command,
      args,
      cwd,
      workDir: await tempDir(spec.name),
      ...(options.logDir ? { logFile: join(options.logDir, `${spec.name}.log`) } : {}),
      env,
      readyTimeoutMs: 90_000,
      stopGraceMs: 15_000,
      ready: ready ?? (() => httpOk(`${url}/readyz`)),
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
  const services: Record<string, RunningService> = Object.fromEntries(
    specs.flatMap((spec) => started.filter((s) => s.name === spec.name)).map((s) => [s.name, s]),
  );
  const restart = async (name: ServiceName): Promise<RunningService> => {
    const spec = specs.find((s) => s.name === name);
    const old = started.find((s) => s.name === name);
    if (!spec) throw new Error(`${name} is not one of the started services`);
    if (old?.process.running())
      throw new Error(`${name} is still running (pid ${String(old.process.pid)})`);
    if (old) {
      // Its process has exited: stop() only closes its log and removes its folder.
      await old.process.stop();
      started.splice(started.indexOf(old), 1);
    }
    await startOne(spec);
    const fresh = started.find((s) => s.name === name);
    if (!fresh) throw new Error(`${name} did not start`);
    services[name] = fresh;
    return fresh;
  };
  const replace = async (name: ServiceName): Promise<RunningService> => {
    const spec = specs.find((s) => s.name === name);
    const old = started.find((s) => s.name === name);
    if (!spec || !old) throw new Error(`${name} is not one of the started services`);
    const { port } = new URL(old.url);
    // The old process still answers /readyz on the shared port, so the new one counts as up
    // once it listens there too (it listens last, when everything else is set up).
    await startOne(spec, async () => (await listeners(Number(port))) >= 2);
    const fresh = started.findLast((s) => s.name === name);
    if (!fresh || fresh === old) throw new Error(`${name} did not start`);
    services[name] = fresh;
    await old.process.stop();
    started.splice(started.indexOf(old), 1);
    // Only the new process answers now: wait for its consumers and clients to be ready too.
    const deadline = Date.now() + 90_000;
    while (!(await httpOk(`${fresh.url}/readyz`).catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`${name} not ready 90 s after its replacement`);
      await sleep(200);
    }
    return fresh;
  };
  return { services, restart, replace, identity, stop };
}
