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
      scrapeConfigs: [{ job_name: 'prometheus', static_configs: [{ targets: [self] }] }],
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

/** Parses `--only kafka,redis` (a subset); everything by default. */
function selection(argv: readonly string[]): string[] {
  const all = Object.keys(STARTERS);
  const at = argv.indexOf('--only');
  if (at === -1) return all;
  const wanted = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = wanted.filter((name) => !all.includes(name));
  if (wanted.length === 0 || unknown.length > 0) {
    throw new CliError(`--only takes a comma-separated subset of ${all.join(', ')}`);
  }
  return wanted;
}

// Until the services land, `npm start` runs the infrastructure they will use, on the fixed
// ports of stack/ports.ts, and stops it all on Ctrl-C or SIGTERM.
runCli('start', async () => {
  const names = selection(process.argv.slice(2));
  const busy: string[] = [];
  for (const name of names) {
    for (const port of NEEDS[name] ?? []) {
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
  } catch (err) {
    await stopAll();
    throw err;
  }
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  const width = Math.max(...started.map((s) => s.name.length));
  process.stdout.write(
    `\nEmporium infrastructure is ready in ${seconds} s (services are not built yet):\n`,
  );
  for (const part of started) process.stdout.write(`  ${part.name.padEnd(width)}  ${part.url}\n`);
  process.stdout.write('\nCtrl-C stops everything.\n');

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.stderr.write(`\n${signal}: stopping\n`);
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await stopAll();
});
