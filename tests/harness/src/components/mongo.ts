import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { freePort, startProcess, tempDir, type ManagedProcess } from '../process.js';
import { ensureTool } from '../tools/provision.js';

/** A MongoDB-compatible server: FerretDB on its SQLite backend, on 127.0.0.1. */
export interface MongoServer {
  /** A connection string for the mongodb driver, e.g. `mongodb://127.0.0.1:40123/`. */
  readonly url: string;
  readonly process: ManagedProcess;
  readonly stop: () => Promise<void>;
}

/** Options for {@link startMongo}. */
export interface MongoOptions {
  /** A fixed port (the local stack's); a free one by default. */
  port?: number;
  /** Keep data in this folder (the local stack's); a temp folder removed on stop by default. */
  dataDir?: string;
  /** Keep the log in this file (appended to, and kept after stop) instead of the work folder. */
  logFile?: string;
}

/** Starts FerretDB with a fresh SQLite folder and waits until it answers `ping`. */
export async function startMongo(options: MongoOptions = {}): Promise<MongoServer> {
  const tool = await ensureTool('ferretdb');
  const workDir = await tempDir('ferretdb');
  const port = options.port ?? (await freePort());
  const debugPort = await freePort();
  const url = `mongodb://127.0.0.1:${String(port)}/`;
  const dataDir = options.dataDir ?? join(workDir, 'data');
  await mkdir(dataDir, { recursive: true });
  const proc = await startProcess({
    ...(options.logFile ? { logFile: options.logFile } : {}),
    name: 'ferretdb',
    command: tool.bin,
    args: [
      '--handler=sqlite',
      // The SQLite backend wants a folder URI with a trailing slash; one file per database.
      `--sqlite-url=file:${dataDir}/`,
      `--state-dir=${workDir}`,
      `--listen-addr=127.0.0.1:${String(port)}`,
      `--debug-addr=127.0.0.1:${String(debugPort)}`,
      // No usage beacon: the machine has no internet and tests must not call out.
      '--telemetry=disable',
      '--log-level=warn',
      '--log-format=json',
    ],
    workDir,
    ready: async () => {
      const client = new MongoClient(url, {
        serverSelectionTimeoutMS: 1000,
        connectTimeoutMS: 1000,
      });
      try {
        const pong = await client.db('admin').command({ ping: 1 });
        return pong.ok === 1;
      } finally {
        await client.close();
      }
    },
  });
  return { url, process: proc, stop: () => proc.stop() };
}
