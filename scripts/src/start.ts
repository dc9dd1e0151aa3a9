import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  ALL_TOOLS,
  cacheRoot,
  ensureTool,
  startJaeger,
  startKafka,
  startMongo,
  startPrometheus,
  startRedis,
} from '@emporium/harness';
import { CliError, progress, runCli } from './cli.js';
import { STACK_PORTS } from './stack/ports.js';
import { SERVICES, startServices } from './stack/services.js';

/** One started part of the stack: a row of the URL table and how to stop it. */
interface Started {
  name: string;
  url: string;
  readonly stop: () => Promise<void>;
}

type Starter = () => Promise<Started[]>;

/** Local data survives restarts here (Kafka topics, FerretDB databases). */
const dataRoot = join(cacheRoot(), 'stack-data');

const STARTERS: Record<string, Starter> = {
  kafka: async () => {
    const kafka = await startKafka({ port: STACK_PORTS.kafka, dataDir: join(dataRoot, 'kafka') });
    return [{ name: 'kafka', url: kafka.brokers.join(','), stop: kafka.stop }];
  },
  redis: async () => {
    const redis = await startRedis({ port: STACK_PORTS.redis });
    return [{ name: 'redis', url: redis.url, stop: redis.stop }];
  },
  mongodb: async () => {
    const mongo = await startMongo({
      port: STACK_PORTS.mongodb,
      dataDir: join(dataRoot, 'ferretdb'),
    });
    return [{ name: 'mongodb (FerretDB)', url: mongo.url, stop: mongo.stop }];
  },
  jaeger: async () => {
    const jaeger = await startJaeger({
      ports: {
        otlpGrpc: STACK_PORTS.otlpGrpc,
        otlpHttp: STACK_PORTS.otlpHttp,
        query: STACK_PORTS.jaegerUi,
        queryGrpc: STACK_PORTS.jaegerQueryGrpc,
      },
    });
    return [
      { name: 'jaeger UI', url: jaeger.queryUrl, stop: jaeger.stop },
      { name: 'OTLP/HTTP', url: jaeger.otlpHttpUrl, stop: () => Promise.resolve() },
      { name: 'OTLP/gRPC', url: jaeger.otlpGrpcEndpoint, stop: () => Promise.resolve() },
    ];
  },
  prometheus: async () => {
    const self = `127.0.0.1:${String(STACK_PORTS.prometheus)}`;
    const prometheus = await startPrometheus({
      port: STACK_PORTS.prometheus,
      scrapeInterval: '5s',
      scrapeConfigs: [
        { job_name: 'prometheus', static_configs: [{ targets: [self] }] },
        // One job per service, named as the service (the `job` label dashboards use).
        ...SERVICES.map((service) => ({
          job_name: service.name,
          static_configs: [{ targets: [`127.0.0.1:${String(STACK_PORTS[service.name])}`] }],
        })),
      ],
    });
    return [{ name: 'prometheus', url: prometheus.url, stop: prometheus.stop }];
  },
};

/** Which ports each part needs, checked before anything starts. */
const NEEDS: Record<string, number[]> = {
  kafka: [STACK_PORTS.kafka],
  redis: [STACK_PORTS.redis],
  mongodb: [STACK_PORTS.mongodb],
  jaeger: [
    STACK_PORTS.jaegerUi,
    STACK_PORTS.jaegerQueryGrpc,
    STACK_PORTS.otlpGrpc,
    STACK_PORTS.otlpHttp,
  ],
  prometheus: [STACK_PORTS.prometheus],
};

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** Parses `--only kafka,redis` (a subset of the infrastructure) and `--infra-only`. */
function selection(argv: readonly string[]): { infra: string[]; services: boolean } {
  const all = Object.keys(STARTERS);
  const services = !argv.includes('--infra-only');
  const at = argv.indexOf('--only');
  if (at === -1) return { infra: all, services };
  const wanted = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = wanted.filter((name) => !all.includes(name));
  if (wanted.length === 0 || unknown.length > 0) {
    throw new CliError(`--only takes a comma-separated subset of ${all.join(', ')}`);
  }
  // The services need Kafka, MongoDB and Redis; a subset without them is infrastructure only.
  return {
    infra: wanted,
    services: services && ['kafka', 'mongodb', 'redis'].every((n) => wanted.includes(n)),
  };
}

// `npm start`: the infrastructure, then every service (from its TypeScript sources), on the
// fixed ports of stack/ports.ts; Ctrl-C or SIGTERM stops it all in reverse order.
runCli('start', async () => {
  const { infra: names, services: withServices } = selection(process.argv.slice(2));
  const busy: string[] = [];
  const needs = [...names, ...(withServices ? SERVICES.map((s) => s.name) : [])];
  for (const name of needs) {
    for (const port of NEEDS[name] ?? [STACK_PORTS[name as keyof typeof STACK_PORTS]]) {
      if (!(await portFree(port)))
        busy.push(`${name} needs 127.0.0.1:${String(port)}, which is in use`);
    }
  }
  if (busy.length > 0) throw new CliError(busy.join('\n  '));
  for (const tool of ALL_TOOLS) await ensureTool(tool, progress);
  await mkdir(dataRoot, { recursive: true });

  const started: Started[] = [];
  const stopAll = async (): Promise<void> => {
    for (const part of started.reverse()) await part.stop();
    started.length = 0;
  };
  const began = performance.now();
  try {
    for (const name of names) {
      const starter = STARTERS[name];
      if (!starter) continue;
      progress(name, 'starting');
      started.push(...(await starter()));
    }
    if (withServices) {
      progress('services', `starting ${SERVICES.map((service) => service.name).join(', ')}`);
      const running = await startServices({
        infra: {
          kafkaBrokers: [`127.0.0.1:${String(STACK_PORTS.kafka)}`],
          mongoUrl: `mongodb://127.0.0.1:${String(STACK_PORTS.mongodb)}/`,
          redisUrl: `redis://127.0.0.1:${String(STACK_PORTS.redis)}`,
          ...(names.includes('jaeger')
            ? { otlpHttpUrl: `http://127.0.0.1:${String(STACK_PORTS.otlpHttp)}` }
            : {}),
        },
        ports: Object.fromEntries(
          SERVICES.map((service) => [service.name, STACK_PORTS[service.name]]),
        ),
        logLevel: 'info',
      });
      started.push(
        ...Object.values(running.services).map((service) => ({
          name: service.name,
          url: service.url,
          stop: service.process.stop,
        })),
      );
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  const width = Math.max(...started.map((s) => s.name.length));
  process.stdout.write(
    `\nEmporium is ready in ${seconds} s${withServices ? '' : ' (infrastructure only)'}:\n`,
  );
  for (const part of started) process.stdout.write(`  ${part.name.padEnd(width)}  ${part.url}\n`);
  if (withServices) {
    const gateway = `http://127.0.0.1:${String(STACK_PORTS.gateway)}`;
    process.stdout.write(
      [
        '',
        "Try (a demo token from the gateway's dev issuer, then the store through the gateway):",
        `  TOKEN=$(curl -s -X POST -H 'content-type: application/json' -d '{"user":"alice"}' ${gateway}/dev/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`,
        `  curl -s '${gateway}/api/products?limit=2'`,
        `  curl -s -H "authorization: Bearer $TOKEN" ${gateway}/api/cart`,
        '',
      ].join('\n'),
    );
  }
  process.stdout.write('\nCtrl-C stops everything.\n');

  await new Promise<void>((resolve) => {
    let stopping = false;
    // Ctrl-C reaches every process of the terminal's group, and tsx forwards it once more: keep
    // handling signals, or the second one would kill this process before it stopped the rest.
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\n${signal}: stopping\n`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await stopAll();
});
