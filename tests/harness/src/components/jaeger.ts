import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, httpOk, startProcess, tempDir, type ManagedProcess } from '../process.js';
import { ensureTool } from '../tools/provision.js';

/** Jaeger v2 with in-memory storage: receives OTLP, serves its query API and UI. */
/** How many traces Jaeger keeps (the oldest go first). */
const MAX_TRACES = 5_000;

export interface JaegerServer {
  /** OTLP/HTTP base URL; traces go to `${otlpHttpUrl}/v1/traces`. */
  readonly otlpHttpUrl: string;
  /** OTLP/gRPC endpoint, `127.0.0.1:port`. */
  readonly otlpGrpcEndpoint: string;
  /** Query API and UI, e.g. `http://127.0.0.1:40123` (`/api/traces/<id>`). */
  readonly queryUrl: string;
  readonly process: ManagedProcess;
  readonly stop: () => Promise<void>;
}

/** Options for {@link startJaeger}. */
export interface JaegerOptions {
  /** Fixed ports (the local stack's); free ones by default. */
  ports?: { otlpGrpc: number; otlpHttp: number; query: number; queryGrpc: number };
  /** Keep the log in this file (appended to, and kept after stop) instead of the work folder. */
  logFile?: string;
}

/** Starts Jaeger v2 with every listener on a free 127.0.0.1 port and waits for its query API. */
export async function startJaeger(options: JaegerOptions = {}): Promise<JaegerServer> {
  const tool = await ensureTool('jaeger');
  const workDir = await tempDir('jaeger');
  const grpc = options.ports?.otlpGrpc ?? (await freePort());
  const http = options.ports?.otlpHttp ?? (await freePort());
  const query = options.ports?.query ?? (await freePort());
  const queryGrpc = options.ports?.queryGrpc ?? (await freePort());
  const at = (port: number): string => `127.0.0.1:${String(port)}`;
  // Jaeger v2 is an OpenTelemetry Collector distribution; this is its all-in-one config cut
  // down to OTLP in, memory storage, query out, with no listener on a fixed or public port.
  const config = {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: {
        traces: {
          receivers: ['otlp'],
          processors: ['batch'],
          exporters: ['jaeger_storage_exporter'],
        },
      },
      telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
    },
    extensions: {
      // The newest traces only, in memory: capped at 100,000, a few minutes of `npm run load`
      // held 1.3 GiB, and 10,000 about 200 MiB; 5,000 still holds the last four minutes at 20
      // requests a second.
      jaeger_storage: { backends: { memstore: { memory: { max_traces: MAX_TRACES } } } },
      jaeger_query: {
        storage: { traces: 'memstore' },
        http: { endpoint: at(query) },
        grpc: { endpoint: at(queryGrpc) },
      },
    },
    receivers: {
      otlp: { protocols: { grpc: { endpoint: at(grpc) }, http: { endpoint: at(http) } } },
    },
    // Short batches so a test sees its spans within a fraction of a second.
    processors: { batch: { timeout: '100ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  };
  const configFile = join(workDir, 'jaeger.yaml');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const queryUrl = `http://${at(query)}`;
  const proc = await startProcess({
    ...(options.logFile ? { logFile: options.logFile } : {}),
    name: 'jaeger',
    command: tool.bin,
    args: ['--config', `file:${configFile}`],
    // Go lets its heap grow to twice the live data before collecting (GOGC=100); the stored
    // traces are nearly all live, so half that headroom costs little CPU and a third of the memory.
    env: { ...process.env, GOGC: '50' },
    workDir,
    ready: () => httpOk(`${queryUrl}/api/services`),
  });
  return {
    otlpHttpUrl: `http://${at(http)}`,
    otlpGrpcEndpoint: at(grpc),
    queryUrl,
    process: proc,
    stop: () => proc.stop(),
  };
}
