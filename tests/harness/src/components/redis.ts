import { Redis } from 'ioredis';
import { freePort, startProcess, tempDir, type ManagedProcess } from '../process.js';
import { ensureTool } from '../tools/provision.js';

/** A throwaway Redis server on 127.0.0.1 with persistence off. */
export interface RedisServer {
  /** e.g. `redis://127.0.0.1:40123` */
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  readonly stop: () => Promise<void>;
}

/** Options for {@link startRedis}. */
export interface RedisOptions {
  /** A fixed port (the local stack's); a free one by default. */
  port?: number;
  /** Keep the log in this file (appended to, and kept after stop) instead of the work folder. */
  logFile?: string;
}

/** Starts redis-server on a free port and waits until it answers PING. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const tool = await ensureTool('redis');
  const workDir = await tempDir('redis');
  const port = options.port ?? (await freePort());
  const url = `redis://127.0.0.1:${String(port)}`;
  const proc = await startProcess({
    ...(options.logFile ? { logFile: options.logFile } : {}),
    name: 'redis',
    command: tool.bin,
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      workDir,
      // Tests want a clean slate each start: no RDB snapshots, no AOF.
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    workDir,
    ready: async () => {
      const client = new Redis(url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.ping();
        return true;
      } finally {
        client.disconnect();
      }
    },
  });
  return { url, port, process: proc, stop: () => proc.stop() };
}
