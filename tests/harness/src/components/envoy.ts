import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startProcess, tempDir, type ManagedProcess } from '../process.js';
import { ensureTool } from '../tools/provision.js';
import { runLogged, ToolError } from '../tools/run.js';

/** An Envoy bootstrap (v3 API) as a plain JSON object. */
export type EnvoyBootstrap = object;

/** A running Envoy. */
export interface EnvoyServer {
  /** The admin interface, e.g. `http://127.0.0.1:40123` (stats at /stats/prometheus). */
  readonly adminUrl: string;
  readonly process: ManagedProcess;
  readonly stop: () => Promise<void>;
}

/** Options for {@link startEnvoy}. */
export interface EnvoyOptions {
  /** The bootstrap; its `admin` block is set by the harness to a free 127.0.0.1 port. */
  bootstrap: EnvoyBootstrap;
  /** Names the process in logs and errors, e.g. `envoy-orders`. */
  name?: string;
  /** Port of the admin interface on 127.0.0.1 (the local stack's fixed one); free by default. */
  adminPort?: number;
  /** Worker threads; one is plenty on a 2-core machine. */
  concurrency?: number;
  /** Keep the log in this file (appended to, and kept after stop) instead of the work folder. */
  logFile?: string;
}

function withAdmin(bootstrap: EnvoyBootstrap, port: number): EnvoyBootstrap {
  return {
    ...bootstrap,
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
  };
}

/** Starts Envoy with the given bootstrap and waits until its admin /ready says LIVE. */
export async function startEnvoy(options: EnvoyOptions): Promise<EnvoyServer> {
  const tool = await ensureTool('envoy');
  const name = options.name ?? 'envoy';
  const workDir = await tempDir(name);
  const adminPort = options.adminPort ?? (await freePort());
  const configFile = join(workDir, 'envoy.json');
  await writeFile(configFile, JSON.stringify(withAdmin(options.bootstrap, adminPort), null, 2));
  const adminUrl = `http://127.0.0.1:${String(adminPort)}`;
  const proc = await startProcess({
    ...(options.logFile ? { logFile: options.logFile } : {}),
    name,
    command: tool.bin,
    args: [
      '-c',
      configFile,
      // Several Envoys share the machine: hot restart would make them fight over shared memory.
      '--disable-hot-restart',
      '--concurrency',
      String(options.concurrency ?? 1),
      '--log-level',
      'warn',
    ],
    workDir,
    ready: async () => {
      const response = await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(1000) });
      return (await response.text()).trim() === 'LIVE';
    },
  });
  return { adminUrl, process: proc, stop: () => proc.stop() };
}

/** Runs `envoy --mode validate` on a bootstrap; throws a ToolError quoting Envoy's complaint. */
export async function validateEnvoyBootstrap(bootstrap: EnvoyBootstrap): Promise<void> {
  const tool = await ensureTool('envoy');
  const workDir = await tempDir('envoy-validate');
  const configFile = join(workDir, 'envoy.json');
  await writeFile(configFile, JSON.stringify(withAdmin(bootstrap, 0), null, 2));
  try {
    await runLogged(tool.bin, ['--mode', 'validate', '-c', configFile, '--disable-hot-restart'], {
      tool: 'envoy',
      logFile: join(workDir, 'validate.log'),
    });
  } catch (err) {
    throw err instanceof ToolError
      ? new ToolError('envoy', `invalid bootstrap: ${err.message}`)
      : err;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
