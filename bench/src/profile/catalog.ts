// Profiles catalog's cached read (and its bare alternative) under wrk: the process runs with
// --cpu-prof, is driven closed-loop, then stopped with SIGTERM so Node writes the profile as it
// exits; only the samples of the measured wrk run count (the window on the monotonic clock
// both processes share), not the seconds of loading TypeScript through tsx at start.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, httpOk, startProcess, tempDir } from '@emporium/harness';
import { expectOk, firstProductId } from '../catalog-client.js';
import { catalogEnv, startApp, type Infra } from '../fixtures.js';
import { runWrk } from '../load/wrk.js';

const BARE_SERVER = fileURLToPath(new URL('../servers/bare-catalog.ts', import.meta.url));
/** The bench workspace: where tsx and ioredis resolve from for the bare server. */
const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** A profiled load run: where its profile is and which part of it the load covers. */
export interface ProfiledRun {
  /** The main thread's .cpuprofile. */
  readonly file: string;
  /** The measured run on the profile's clock (µs); samples outside it are start-up or stop. */
  readonly window?: { readonly fromUs: number; readonly toUs: number };
  /** Units of work done in the window (requests or events), for CPU per unit. */
  readonly units: number;
  readonly unitName: string;
  /**
   * CPU time of the whole process (every thread, user + system) over the window, in ms: the
   * profile's own times are the main thread's wall clock, which on a busy machine includes
   * time spent waiting for a core.
   */
  readonly cpuMs?: number;
  /** Units per second the profiled process reached (profiling costs it a few percent). */
  readonly rate: number;
  /** How the load was made, in words. */
  readonly load: string;
}

/** Options of {@link profileCatalog} and {@link profileBareCatalog}. */
export interface LoadOptions {
  readonly infra: Infra;
  readonly wrkBin: string;
  readonly seconds: number;
  readonly connections: number;
  readonly log: (message: string) => void;
}

/** CPU time a process has used so far (user + system, all threads), in ms; from /proc. */
async function processCpuMs(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8').catch(() => undefined);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and
  // 13th, in clock ticks of 1/100 s (USER_HZ is 100 on Linux whatever the kernel's HZ).
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields?.[11]);
  const stime = Number(fields?.[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) * 10 : undefined;
}

/** The monotonic clock in µs: V8 stamps profile samples with it (process.hrtime's source). */
function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * NODE_OPTIONS reaches the service's own node process (the bench spawns node directly, with
 * tsx as an --import loader, so there is no wrapper process), and it needs no change to how
 * the fixtures start it; a worker thread (tsx's loader hooks) writes a profile of its own.
 */
function cpuProfEnv(dir: string): Record<string, string> {
  return { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` };
}

/** Node names its profiles CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is main. */
async function mainThreadProfile(dir: string, pid: number, what: string): Promise<string> {
  const files = await readdir(dir);
  const main = files.find((f) => f.includes(`.${String(pid)}.0.`) && f.endsWith('.cpuprofile'));
  if (!main) {
    throw new Error(
      `${what} (pid ${String(pid)}) wrote no CPU profile in ${dir} (found: ${files.join(', ') || 'nothing'}): ` +
        'it did not exit through its graceful shutdown (SIGKILL after the grace period writes none)',
    );
  }
  return join(dir, main);
}

/** Warms `url` up, then drives it closed-loop and times the run on the profile's clock. */
async function drive(
  options: LoadOptions,
  url: string,
  pid: number,
): Promise<Omit<ProfiledRun, 'file' | 'unitName'>> {
  const wrk = { bin: options.wrkBin, url, connections: options.connections };
  // JIT, connection pools and caches settle before the window opens.
  await runWrk({ ...wrk, seconds: 2 });
  const cpuBefore = await processCpuMs(pid);
  const fromUs = nowUs();
  const result = await runWrk({ ...wrk, seconds: options.seconds });
  const toUs = nowUs();
  const cpuAfter = await processCpuMs(pid);
  const failed = result.non2xx + result.socketErrors;
  if (failed > result.requests * 0.001) {
    throw new Error(`${url}: ${String(failed)} of ${String(result.requests)} requests failed`);
  }
  options.log(`  ${url}: ${result.requestsPerSecond.toFixed(0)} req/s while profiled`);
  return {
    window: { fromUs, toUs },
    units: result.requests,
    cpuMs: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
    rate: result.requestsPerSecond,
    load: `wrk, ${String(options.connections)} connections, one thread, ${String(options.seconds)} s after a 2 s warmup`,
  };
}

/**
 * catalog as the telemetry-cost and chassis-cost fixtures run it (startApp, catalogEnv),
 * profiled while wrk reads one cached product; returns its profile and the product's path.
 */
export async function profileCatalog(
  options: LoadOptions & { readonly telemetry: boolean },
): Promise<ProfiledRun & { readonly path: string }> {
  const dir = await tempDir('profile-catalog');
  const app = await startApp('catalog', await freePort(), {
    ...catalogEnv(options.infra, options.telemetry),
    ...cpuProfEnv(dir),
  });
  let run: Omit<ProfiledRun, 'file' | 'unitName'>;
  let path: string;
  try {
    path = `/products/${await firstProductId(app.value.url)}`;
    // The first read fills the cache: every measured read is a Redis hit.
    await expectOk(app.value.url + path);
    run = await drive(options, app.value.url + path, app.value.pid);
  } finally {
    // SIGTERM: the service's graceful shutdown ends in process.exit, which writes the profile.
    await app.stop();
  }
  const file = await mainThreadProfile(dir, app.value.pid, 'catalog');
  return { ...run, file, unitName: 'request', path };
}

/**
 * The bare node:http + ioredis server of the chassis-cost pair, started as that scenario
 * starts it, profiled the same way on the same product (catalog must have cached it).
 */
export async function profileBareCatalog(
  options: LoadOptions & { readonly path: string },
): Promise<ProfiledRun> {
  const dir = await tempDir('profile-bare');
  const port = await freePort();
  const url = `http://127.0.0.1:${String(port)}`;
  const bare = await startProcess({
    name: 'bare-catalog',
    command: process.execPath,
    args: ['--import', 'tsx', BARE_SERVER],
    cwd: BENCH_DIR,
    workDir: await tempDir('bench-bare'),
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      REDIS_URL: options.infra.redisUrl,
      ...cpuProfEnv(dir),
    },
    ready: () => httpOk(`${url}/readyz`),
  });
  let run: Omit<ProfiledRun, 'file' | 'unitName'>;
  try {
    await expectOk(url + options.path);
    run = await drive(options, url + options.path, bare.pid);
  } finally {
    // Its SIGTERM handler closes the server and Redis; the loop empties and Node exits.
    await bare.stop();
  }
  return {
    ...run,
    file: await mainThreadProfile(dir, bare.pid, 'the bare server'),
    unitName: 'request',
  };
}
