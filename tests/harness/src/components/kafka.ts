import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, startProcess, tempDir, type ManagedProcess } from '../process.js';
import { ensureTool } from '../tools/provision.js';
import { runLogged } from '../tools/run.js';

/** A single-node KRaft Kafka broker on 127.0.0.1. */
export interface KafkaServer {
  /** Bootstrap servers for clients, e.g. `['127.0.0.1:40123']`. */
  readonly brokers: string[];
  readonly process: ManagedProcess;
  readonly stop: () => Promise<void>;
}

/** Options for {@link startKafka}. */
export interface KafkaOptions {
  /** Reuse this data folder (to restart a broker with its topics); a temp folder by default. */
  dataDir?: string;
  /** Fixed client port, e.g. to restart on the same address; a free one by default. */
  port?: number;
  /** Keep the log in this file (appended to, and kept after stop) instead of the work folder. */
  logFile?: string;
  /** The broker's maximum heap in MiB; 512 by default (`npm start` gives it 256). */
  heapMb?: number;
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (what kafka-storage expects). */
function clusterId(): string {
  return randomBytes(16).toString('base64url');
}

/** Starts a combined broker+controller, formats its storage, and waits until it serves metadata. */
export async function startKafka(options: KafkaOptions = {}): Promise<KafkaServer> {
  const tool = await ensureTool('kafka');
  const workDir = await tempDir('kafka');
  const dataDir = options.dataDir ?? join(workDir, 'data');
  const port = options.port ?? (await freePort());
  const controllerPort = await freePort();
  const properties = join(workDir, 'server.properties');
  await writeFile(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${String(controllerPort)}`,
      `listeners=PLAINTEXT://127.0.0.1:${String(port)},CONTROLLER://127.0.0.1:${String(controllerPort)}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${String(port)}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${dataDir}`,
      'num.partitions=1',
      // One node: internal topics cannot have more replicas than brokers.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      // Tests join groups constantly; the default 3 s rebalance delay only slows them down.
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      // The log cleaner (for compacted topics such as the group offsets) allocates its dedupe
      // buffer on the heap, 128 MiB by default: half of a small heap, for a few thousand keys.
      'log.cleaner.dedupe.buffer.size=16777216',
      // A node serving a handful of clients needs neither 8 request handlers nor 3 network
      // threads, each with its buffers.
      'num.io.threads=2',
      'num.network.threads=2',
    ].join('\n') + '\n',
  );
  // Small heap: a test broker holds little, and the machine runs many components at once.
  // The serial collector, whose bookkeeping is a fraction of G1's (remembered sets, per-region
  // tables, its own threads), fits a heap this size, and C1 alone compiles less code to keep.
  const jvm = [
    '-Xms64m',
    `-Xmx${String(options.heapMb ?? 512)}m`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:ReservedCodeCacheSize=64m',
    `-Dlog4j2.configurationFile=${tool.log4jConfig}`,
    '-cp',
    tool.classpath,
  ];
  // A reused data folder keeps its cluster id; formatting it again with a new one would fail.
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    // `--cluster-id=` form: a base64url id may start with '-' and would read as an option.
    const format = [
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${clusterId()}`,
      '-c',
      properties,
    ];
    await runLogged(tool.java, [...jvm, ...format], {
      tool: 'kafka',
      logFile: join(workDir, 'format.log'),
    });
  }
  const brokers = [`127.0.0.1:${String(port)}`];
  const kafka = new Kafka({
    brokers,
    clientId: 'harness-ready',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  });
  const proc = await startProcess({
    ...(options.logFile ? { logFile: options.logFile } : {}),
    name: 'kafka',
    command: tool.java,
    args: [...jvm, 'kafka.Kafka', properties],
    workDir,
    readyTimeoutMs: 90_000,
    stopGraceMs: 20_000,
    // Ready when the broker answers metadata with itself as the controller.
    ready: async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.controller !== null && cluster.brokers.length === 1;
      } finally {
        await admin.disconnect();
      }
    },
  });
  return { brokers, process: proc, stop: () => proc.stop() };
}
