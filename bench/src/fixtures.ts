import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  httpOk,
  serviceMain,
  startJaeger,
  startKafka,
  startMongo,
  startProcess,
  startRedis,
  tempDir,
} from '@emporium/harness';
import {
  behindSidecarEnv,
  freeStackPorts,
  SERVICES,
  sidecarEgressUrl,
  startSidecars,
  buildServices,
  startStack,
  type ServiceName,
  type Stack,
  type StackPorts,
} from '@emporium/scripts/stack';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
import { descendants, processLabel } from './processes.js';

/** Kafka, Redis, FerretDB and Jaeger on free ports: what the single-service pairs run on. */
export interface Infra {
  /** Free ports for every part, so the edge's sidecars can use the stack's bootstrap generator. */
  readonly ports: StackPorts;
  readonly kafkaBrokers: readonly string[];
  readonly redisUrl: string;
  readonly mongoUrl: string;
  /** Jaeger's OTLP/HTTP receiver: the services export real traces to it. */
  readonly otlpHttpUrl: string;
  /** The users' and workloads' issuer every service of the bench trusts. */
  readonly identity: TokenIssuer;
}

/** A service started by the bench from its sources, as `npm start` runs it. */
export interface App {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** From spawn to its first ready /readyz, in ms. */
  readonly readyMs: number;
}

/** The gateway → catalog path with two Envoy hops and without them. */
export interface Edge {
  /** The gateway's sidecar ingress: client → Envoy → gateway → Envoy → Envoy → catalog. */
  readonly withSidecars: string;
  /** A second gateway calling catalog's app directly, as `npm start -- --no-sidecars` wires it. */
  readonly withoutSidecars: string;
}

/** A service of the whole stack: when it got ready and its process. */
export interface StackService {
  readonly name: ServiceName;
  /** From its process appearing to its first ready /readyz, in ms (NaN if either was missed). */
  readonly readyMs: number;
  readonly pid: number | undefined;
}

/** The whole store as `npm start` runs it (free ports, fresh data). */
export interface FullStack {
  readonly stack: Stack;
  readonly ports: StackPorts;
  /** startStack() called to resolved, in ms. */
  readonly startMs: number;
  readonly services: readonly StackService[];
}

/** What each fixture gives a scenario. */
export interface FixtureValues {
  infra: Infra;
  /** catalog with tracing exported to Jaeger (the default). */
  catalogOn: App;
  /** catalog with TELEMETRY_ENABLED=false, on the port the edge's catalog sidecar targets. */
  catalogOff: App;
  edge: Edge;
  stack: FullStack;
}

/** A shared part of the bench's world, started on first use. */
export type FixtureName = keyof FixtureValues;

/** What a fixture needs running before it starts (and so outlives it). */
const NEEDS: Record<FixtureName, readonly FixtureName[]> = {
  infra: [],
  catalogOn: ['infra'],
  catalogOff: ['infra'],
  edge: ['catalogOff'],
  // The whole stack brings its own infrastructure, like `npm start`.
  stack: [],
};

/** Each fixture with everything it needs, transitively. */
export function withNeeds(names: Iterable<FixtureName>): Set<FixtureName> {
  const out = new Set<FixtureName>();
  const add = (name: FixtureName): void => {
    if (out.has(name)) return;
    out.add(name);
    NEEDS[name].forEach(add);
  };
  for (const name of names) add(name);
  return out;
}

/** Wide open: one client address sends thousands of requests a second here. */
const NO_RATE_LIMITS = {
  RATE_LIMIT_IP_CAPACITY: '1000000',
  RATE_LIMIT_IP_REFILL_PER_SECOND: '1000000',
  RATE_LIMIT_USER_CAPACITY: '1000000',
  RATE_LIMIT_USER_REFILL_PER_SECOND: '1000000',
};

interface Started<T> {
  readonly value: T;
  readonly stop: () => Promise<void>;
}

/**
 * The bench's shared components, each started on first use and kept for the scenarios after
 * it: starting a service takes seconds, a round of a pair only a few. `release` stops what no
 * remaining scenario needs, so the whole stack does not compete with leftovers for the cores.
 */
export class Fixtures {
  private readonly started = new Map<FixtureName, Promise<Started<unknown>>>();
  /** Every service process the fixtures started, for the footprint of a smoke run. */
  readonly apps: App[] = [];

  constructor(private readonly log: (message: string) => void) {}

  /** The fixture, started (with what it needs) if it is not running yet. */
  get<N extends FixtureName>(name: N): Promise<FixtureValues[N]> {
    let pending = this.started.get(name);
    if (!pending) {
      pending = this.start(name);
      this.started.set(name, pending);
      // A failed start is not cached: the next scenario that needs it tries again.
      pending.catch(() => this.started.delete(name));
    }
    return pending.then((s) => s.value as FixtureValues[N]);
  }

  /** Stops every running fixture that neither `keep` nor what they need names. */
  async release(keep: Iterable<FixtureName>): Promise<void> {
    const kept = withNeeds(keep);
    // Dependents before what they depend on: the reverse of start order.
    for (const name of [...this.started.keys()].reverse()) {
      if (kept.has(name)) continue;
      const pending = this.started.get(name);
      this.started.delete(name);
      const started = await pending?.catch(() => undefined);
      if (started) {
        this.log(`stopping ${name}`);
        await started.stop();
      }
    }
  }

  /** Stops everything. */
  stopAll(): Promise<void> {
    return this.release([]);
  }

  private async start(name: FixtureName): Promise<Started<unknown>> {
    for (const need of NEEDS[name]) await this.get(need);
    const began = performance.now();
    this.log(`starting ${name}`);
    const started = await this.startOne(name);
    this.log(`${name} ready in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    return started;
  }

  private async startOne(name: FixtureName): Promise<Started<unknown>> {
    switch (name) {
      case 'infra':
        return startInfra();
      case 'catalogOn':
      case 'catalogOff': {
        const infra = await this.get('infra');
        // The edge's catalog sidecar targets the stack port table's catalog app port.
        const port = name === 'catalogOff' ? infra.ports.services.catalog.app : await freePort();
        return this.app('catalog', port, catalogEnv(infra, name === 'catalogOn'));
      }
      case 'edge':
        return this.startEdge();
      case 'stack':
        return startFullStack(this.log);
    }
  }

  private async app(
    name: ServiceName,
    port: number,
    env: Record<string, string>,
  ): Promise<Started<App>> {
    const started = await startApp(name, port, env);
    this.apps.push(started.value);
    return started;
  }

  private async startEdge(): Promise<Started<Edge>> {
    const infra = await this.get('infra');
    const catalog = await this.get('catalogOff');
    const { ports } = infra;
    const gatewayEnv = (upstream: (callee: ServiceName) => string): Record<string, string> => ({
      ...commonEnv(infra, false),
      REDIS_URL: infra.redisUrl,
      DEV_ISSUER_ENABLED: 'true',
      ...NO_RATE_LIMITS,
      ...Object.fromEntries(
        gatewayUpstreams().map((callee) => [
          `UPSTREAM_${callee.toUpperCase()}_URL`,
          upstream(callee),
        ]),
      ),
    });
    const stops: (() => Promise<void>)[] = [];
    const stop = async (): Promise<void> => {
      for (const one of stops.reverse()) await one();
    };
    try {
      // Started side by side; whichever started is stopped if the other fails.
      const [behind, direct] = await Promise.allSettled([
        this.app('gateway', ports.services.gateway.app, {
          ...gatewayEnv((callee) => sidecarEgressUrl('gateway', callee, ports)),
          ...behindSidecarEnv('gateway'),
        }),
        // Only catalog runs; the other upstreams are never called on the product route.
        freePort().then((port) =>
          this.app(
            'gateway',
            port,
            gatewayEnv((callee) =>
              callee === 'catalog'
                ? catalog.url
                : `http://127.0.0.1:${String(ports.services[callee].service)}`,
            ),
          ),
        ),
      ]);
      for (const one of [behind, direct])
        if (one.status === 'fulfilled') stops.push(one.value.stop);
      if (behind.status === 'rejected') throw behind.reason;
      if (direct.status === 'rejected') throw direct.reason;
      // Tracing off in the sidecars as in the apps: the pair differs by the hops alone.
      const sidecars = await startSidecars(['catalog', 'gateway'], ports, false);
      stops.push(async () => {
        for (const sidecar of [...sidecars].reverse()) await sidecar.stop();
      });
      return {
        value: {
          withSidecars: `http://127.0.0.1:${String(ports.services.gateway.service)}`,
          withoutSidecars: direct.value.value.url,
        },
        stop,
      };
    } catch (err) {
      await stop();
      throw err;
    }
  }
}

function gatewayUpstreams(): readonly ServiceName[] {
  return SERVICES.find((s) => s.name === 'gateway')?.upstreams ?? [];
}

/** What every service gets from the local stack (scripts/src/stack/services.ts does the same). */
export function commonEnv(infra: Infra, telemetry: boolean): Record<string, string> {
  return {
    DEPLOYMENT_ENVIRONMENT: 'bench',
    TELEMETRY_ENABLED: String(telemetry),
    OTEL_EXPORTER_OTLP_ENDPOINT: infra.otlpHttpUrl,
    // As `npm start` logs: a line per request is part of what a service costs.
    LOG_LEVEL: 'info',
    // Who the services believe: users and workloads with the bench issuer's tokens.
    ...infra.identity.env,
  };
}

/** catalog's environment on the bench's infrastructure, as the catalogOn/catalogOff fixtures run it. */
export function catalogEnv(infra: Infra, telemetry: boolean): Record<string, string> {
  return {
    ...commonEnv(infra, telemetry),
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    REDIS_URL: infra.redisUrl,
    // Every measured read must be a cache hit; the default 60 s would expire mid-run.
    CATALOG_CACHE_TTL_SECONDS: '86400',
  };
}

/** Starts one service from its TypeScript sources, as `npm start` does, on `port`. */
export async function startApp(
  name: ServiceName,
  port: number,
  env: Record<string, string>,
): Promise<Started<App>> {
  const url = `http://127.0.0.1:${String(port)}`;
  const { command, args, cwd } = serviceMain(name);
  const began = performance.now();
  const proc = await startProcess({
    name,
    command,
    args,
    cwd,
    workDir: await tempDir(`bench-${name}`),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      OTEL_SERVICE_NAME: name,
      ...env,
    },
    readyTimeoutMs: 120_000,
    stopGraceMs: 10_000,
    ready: () => httpOk(`${url}/readyz`),
  });
  return {
    value: { name, url, pid: proc.pid, readyMs: performance.now() - began },
    stop: proc.stop,
  };
}

async function startInfra(): Promise<Started<Infra>> {
  const ports = await freeStackPorts();
  const results = await Promise.allSettled([
    startKafka({ port: ports.kafka }),
    startRedis({ port: ports.redis }),
    startMongo({ port: ports.mongodb }),
    startJaeger({
      ports: {
        otlpGrpc: ports.otlpGrpc,
        otlpHttp: ports.otlpHttp,
        query: ports.jaegerUi,
        queryGrpc: ports.jaegerQueryGrpc,
      },
    }),
  ]);
  const identity = await startTokenIssuer();
  const stops = [
    ...results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop] : [])),
    () => identity.stop(),
  ];
  const stop = async (): Promise<void> => {
    await Promise.all(stops.map((one) => one()));
  };
  const [kafka, redis, mongo, jaeger] = results;
  if (
    kafka.status !== 'fulfilled' ||
    redis.status !== 'fulfilled' ||
    mongo.status !== 'fulfilled' ||
    jaeger.status !== 'fulfilled'
  ) {
    await stop();
    const failed = results.find((r) => r.status === 'rejected');
    throw failed?.reason instanceof Error ? failed.reason : new Error('infrastructure failed');
  }
  return {
    value: {
      ports,
      kafkaBrokers: kafka.value.brokers,
      redisUrl: redis.value.url,
      mongoUrl: mongo.value.url,
      otlpHttpUrl: jaeger.value.otlpHttpUrl,
      identity,
    },
    stop,
  };
}

/**
 * Starts the whole stack with startStack (what `npm start` runs) on free ports and fresh data,
 * and times each service from its process appearing to its first ready /readyz, watched every
 * 100 ms, whether the stack starts them one by one or several at once.
 */
async function startFullStack(log: (message: string) => void): Promise<Started<FullStack>> {
  const ports = await freeStackPorts();
  const dataDir = await tempDir('bench-stack');
  const spawnedAt = new Map<string, { at: number; pid: number }>();
  const readyAt = new Map<string, number>();
  const names = new Set<string>(SERVICES.map((s) => s.name));
  const watching = new AbortController();
  const watch = async (): Promise<void> => {
    while (!watching.signal.aborted && readyAt.size < names.size) {
      if (spawnedAt.size < names.size) {
        const now = performance.now();
        for (const p of await descendants()) {
          const label = processLabel(p.cmdline);
          if (names.has(label) && !spawnedAt.has(label))
            spawnedAt.set(label, { at: now, pid: p.pid });
        }
      }
      await Promise.all(
        [...spawnedAt.keys()]
          .filter((name) => !readyAt.has(name))
          .map(async (name) => {
            const port = ports.services[name as ServiceName].app;
            if (await httpOk(`http://127.0.0.1:${String(port)}/readyz`).catch(() => false)) {
              readyAt.set(name, performance.now());
            }
          }),
      );
      await sleep(100);
    }
  };
  const watcher = watch();
  // As `npm start` runs them: compiled (a no-op after `npm test`'s typecheck), from dist/.
  await buildServices();
  const began = performance.now();
  let stack: Stack;
  try {
    stack = await startStack({
      servicesFrom: 'dist',
      ports,
      dataDir,
      env: {
        gateway: NO_RATE_LIMITS,
        // The saga runs every order to SHIPPED: enough stock, and no declined payments.
        inventory: { INVENTORY_INITIAL_STOCK: '1000000' },
        payments: { PSP_DECLINE_RATE: '0' },
      },
      progress: (step, message) => {
        log(`stack: ${step} ${message}`);
      },
    });
  } catch (err) {
    watching.abort();
    await watcher;
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const startMs = performance.now() - began;
  watching.abort();
  await watcher;
  const services: StackService[] = SERVICES.map(({ name }) => {
    const spawned = spawnedAt.get(name);
    const ready = readyAt.get(name);
    return {
      name,
      readyMs: spawned && ready ? ready - spawned.at : Number.NaN,
      pid: spawned?.pid,
    };
  });
  return {
    value: { stack, ports, startMs, services },
    stop: async () => {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
