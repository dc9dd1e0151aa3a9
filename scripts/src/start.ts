import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PROVISIONED_TOOLS,
  KUBERNETES_TOOLS,
  ensureTool,
  killAll,
  livePids,
  portFree,
  processRunning,
  repoRoot,
} from '@emporium/harness';
import { CliError, progress, runCli } from './cli.js';
import { fixedStackPorts, type StackPorts } from './stack/ports.js';
import {
  INFRASTRUCTURE,
  LOCAL_STACK_DATA,
  SERVICES_NEED,
  startStack,
  type InfrastructurePart,
} from './stack/stack.js';
import { buildServices, buildStorefront } from './stack/build.js';
import { followLog, logNames } from './stack/follow.js';
import { formatStatus, writeStatus } from './stack/status.js';
import { supervise, type Supervisor } from './stack/supervisor.js';
import { SERVICES } from './stack/topology.js';

/** Where `npm start` keeps every process's log. */
const LOG_DIR = join(LOCAL_STACK_DATA, 'logs');

/** Where a running `npm start` keeps its status for `npm start -- --status`. */
const STATUS_FILE = join(LOCAL_STACK_DATA, 'status.json');

/** What `npm start` was asked to run. */
interface Selection {
  infrastructure: InfrastructurePart[];
  services: boolean;
  sidecars: boolean;
}

/**
 * Parses `--only kafka,redis` (a subset of the infrastructure), `--infra-only` and
 * `--no-sidecars` (the services called directly, without Envoy).
 */
function selection(argv: readonly string[]): Selection {
  const known = ['--only', '--infra-only', '--no-sidecars', '--follow', '--json', '--status'];
  const unknown = argv.filter((arg) => arg.startsWith('-') && !known.includes(arg));
  if (unknown.length > 0)
    throw new CliError(`unknown option ${unknown.join(', ')}; try ${known.join(', ')}`);
  const sidecars = !argv.includes('--no-sidecars');
  const services = !argv.includes('--infra-only');
  const at = argv.indexOf('--only');
  if (at === -1) return { infrastructure: [...INFRASTRUCTURE], services, sidecars };
  const wanted = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const all: readonly string[] = INFRASTRUCTURE;
  const bad = wanted.filter((name) => !all.includes(name));
  if (wanted.length === 0 || bad.length > 0) {
    throw new CliError(`--only takes a comma-separated subset of ${INFRASTRUCTURE.join(', ')}`);
  }
  const infrastructure = INFRASTRUCTURE.filter((name) => wanted.includes(name));
  // A subset without what the services need is infrastructure only.
  return {
    infrastructure,
    services: services && SERVICES_NEED.every((name) => infrastructure.includes(name)),
    sidecars,
  };
}

/** Every fixed port the selection needs, with what needs it. */
function portsNeeded(ports: StackPorts, chosen: Selection): [string, number][] {
  const byPart: Record<InfrastructurePart, number[]> = {
    kafka: [ports.kafka],
    redis: [ports.redis],
    mongodb: [ports.mongodb],
    jaeger: [ports.jaegerUi, ports.jaegerQueryGrpc, ports.otlpGrpc, ports.otlpHttp],
    prometheus: [ports.prometheus],
  };
  const needed: [string, number][] = chosen.infrastructure.flatMap((part) =>
    byPart[part].map((port): [string, number] => [part, port]),
  );
  if (!chosen.services) return needed;
  for (const { name, upstreams } of SERVICES) {
    const own = ports.services[name];
    needed.push([name, own.service]);
    if (!chosen.sidecars) continue;
    needed.push([name, own.app], [`${name} envoy admin`, own.envoyAdmin]);
    upstreams.forEach((upstream, i) =>
      needed.push([`${name} envoy → ${upstream}`, own.egress + i]),
    );
  }
  return needed;
}

/** The parent of process `pid`, from /proc (Linux); undefined where it cannot be read. */
function parentOf(pid: number): number | undefined {
  try {
    // `pid (comm) state ppid …`: the name may hold spaces and parentheses, so split after it.
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** Resident (`Rss`) and proportional (`Pss`) memory of `pid` in KiB, Linux; 0s when unreadable. */
function memoryKiB(pid: number): { rss: number; pss: number } {
  try {
    const rollup = readFileSync(`/proc/${String(pid)}/smaps_rollup`, 'utf8');
    const field = (name: string): number =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(rollup)?.[1] ?? 0);
    return { rss: field('Rss'), pss: field('Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/**
 * The stack's footprint: the memory of this launcher and every process it started. PSS first:
 * RSS counts the pages of the Node and Envoy binaries that the processes share once per process
 * (about 50 MiB a service and 44 MiB an Envoy), PSS divides them among the sharers, so it adds
 * up to what the stack takes from the machine.
 */
function footprint(): string {
  const pids = [process.pid, ...livePids()];
  const total = pids
    .map(memoryKiB)
    .reduce((sum, m) => ({ rss: sum.rss + m.rss, pss: sum.pss + m.pss }));
  const mib = (kib: number): string => (kib / 1024).toFixed(0);
  return `The stack uses ${mib(total.pss)} MiB (PSS; ${mib(total.rss)} MiB RSS) in ${String(pids.length)} processes.`;
}

/**
 * Resolves when this launcher should stop: a signal (SIGINT, SIGTERM, SIGHUP), or the process
 * that started it gone (tsx, or npm above it: a terminal closed, a process manager's kill -9).
 * A second Ctrl-C a second or more after the first forces it: every process is SIGKILLed.
 */
function stopRequested(): Promise<string> {
  // npm runs `exec tsx …`, and tsx runs this file: watch both.
  const ancestors = [process.ppid, parentOf(process.ppid)].filter(
    (pid): pid is number => pid !== undefined && pid > 1,
  );
  const isGone = (pid: number): boolean => !processRunning(pid);
  return new Promise((resolve) => {
    let firstAt: number | undefined;
    // Not unref'd: it also keeps the launcher alive when every process it started is gone.
    const watchdog = setInterval(() => {
      const gone = ancestors.find(isGone);
      if (gone !== undefined || (ancestors[0] !== undefined && process.ppid !== ancestors[0])) {
        stop(`the process that started this one (${String(gone ?? ancestors[0])}) is gone`);
      }
    }, 500);
    function stop(why: string): void {
      if (firstAt === undefined) {
        firstAt = Date.now();
        clearInterval(watchdog);
        process.stderr.write(`\n${why}: stopping (again to force)\n`);
        resolve(why);
        return;
      }
      // One Ctrl-C arrives twice: from the terminal and relayed by tsx. A second press is later.
      if (Date.now() - firstAt < 1000) return;
      process.stderr.write(`\n${why} again: killing every process\n`);
      killAll();
      process.exit(130);
    }
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  });
}

/** The reaper of {@link startReaper}: the list it reads, refreshed, and its end. */
interface Reaper {
  /** Writes the list of this launcher's processes now (it is also refreshed twice a second). */
  update(): Promise<void>;
  /** Removes the list, which ends the reaper: the stack was stopped by the launcher itself. */
  stop(): Promise<void>;
}

/**
 * Starts the reaper (scripts/bootstrap/reaper.mjs), detached, and keeps the list of this
 * launcher's processes it reads up to date. Should the launcher die unstopped, the reaper
 * stops what it had started.
 */
async function startReaper(pidFile: string): Promise<Reaper> {
  const write = (): Promise<void> => writeFile(pidFile, JSON.stringify(livePids()));
  await write();
  const reaper = spawn(
    process.execPath,
    [join(repoRoot(), 'scripts', 'bootstrap', 'reaper.mjs'), String(process.pid), pidFile],
    { detached: true, stdio: 'ignore' },
  );
  reaper.unref();
  const timer = setInterval(() => {
    void write().catch(() => undefined);
  }, 500);
  timer.unref();
  return {
    update: write,
    stop: async () => {
      clearInterval(timer);
      await rm(pidFile, { force: true });
    },
  };
}

/**
 * `npm start -- --follow <name> [--json]`, in another terminal: follows one process's log of
 * the running stack (pretty, or the raw JSON lines) until Ctrl-C.
 */
async function follow(argv: readonly string[]): Promise<void> {
  const name = argv[argv.indexOf('--follow') + 1] ?? '';
  const names = await logNames(LOG_DIR);
  if (!names.includes(name)) {
    throw new CliError(
      names.length === 0
        ? `no logs in ${LOG_DIR} yet: start the stack with npm start first`
        : `--follow takes one of: ${names.join(', ')}`,
    );
  }
  const until = new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, resolve);
  });
  await followLog({
    logDir: LOG_DIR,
    name,
    json: argv.includes('--json'),
    lines: 20,
    write: (text) => process.stdout.write(text),
    until,
  });
}

// `npm start`: the infrastructure, then every service (from its TypeScript sources), then an
// Envoy sidecar per service, on the fixed ports of stack/ports.ts; Ctrl-C, SIGTERM or SIGHUP
// (to npm or to this process) stops it all in reverse order. Every process's log is kept in
// the data folder's logs/; `npm start -- --follow <name>` follows one.
runCli('start', async () => {
  const argv = process.argv.slice(2);
  if (argv.includes('--follow')) {
    await follow(argv);
    return;
  }
  if (argv.includes('--status')) {
    process.stdout.write(`${await formatStatus(STATUS_FILE)}\n`);
    return;
  }
  const chosen = selection(argv);
  const ports = fixedStackPorts();
  const busy: string[] = [];
  for (const [what, port] of portsNeeded(ports, chosen)) {
    if (!(await portFree(port)))
      busy.push(`${what} needs 127.0.0.1:${String(port)}, which is in use`);
  }
  if (busy.length > 0) throw new CliError(busy.join('\n  '));
  // The local stack runs no Kubernetes: a cold clone need not build it (that is kube:up's job).
  for (const tool of PROVISIONED_TOOLS.filter((t) => !KUBERNETES_TOOLS.includes(t))) {
    await ensureTool(tool, progress);
  }
  await mkdir(LOCAL_STACK_DATA, { recursive: true });
  const reaper = await startReaper(join(LOCAL_STACK_DATA, 'stack.pids'));
  const stopping = stopRequested();

  const began = performance.now();
  if (chosen.services) {
    // The services run from dist/, as their images do: compiled now (incremental: seconds
    // when nothing changed), so what runs is always what the sources say.
    progress('services', 'compiling (tsc -b)');
    await buildServices().catch((error: unknown) => {
      throw new CliError(error instanceof Error ? error.message : String(error));
    });
  }
  // The storefront the gateway serves at its address: built now, as the services are compiled.
  let webRoot: string | undefined;
  if (chosen.services) {
    progress('storefront', 'building (vite build)');
    webRoot = await buildStorefront().catch((error: unknown) => {
      throw new CliError(error instanceof Error ? error.message : String(error));
    });
  }
  const stack = await startStack({
    servicesFrom: 'dist',
    ...(webRoot ? { env: { gateway: { WEB_ROOT: webRoot } } } : {}),
    // A laptop's stack: Kafka's topics here are small, 256 MiB of heap is plenty.
    kafkaHeapMb: 256,
    ports,
    dataDir: LOCAL_STACK_DATA,
    infrastructure: chosen.infrastructure,
    services: chosen.services,
    sidecars: chosen.sidecars,
    logDir: LOG_DIR,
    progress,
  });
  // Listed before anyone is told it is up: from now on no kill of this launcher leaves one.
  await reaper.update();
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  const width = Math.max(...stack.parts.map((part) => part.name.length));
  process.stdout.write(
    `\nEmporium is ready in ${seconds} s${chosen.services ? '' : ' (infrastructure only)'}:\n`,
  );
  for (const part of stack.parts)
    process.stdout.write(`  ${part.name.padEnd(width)}  ${part.url}\n`);
  if (stack.gatewayUrl) {
    const gateway = stack.gatewayUrl;
    process.stdout.write(
      [
        '',
        `The storefront: open ${gateway}/ in a browser and sign in with any lower-case name.`,
        '',
        "Try (a demo token from the gateway's dev issuer, then the store through the gateway):",
        `  TOKEN=$(curl -s -X POST -H 'content-type: application/json' -d '{"user":"alice"}' ${gateway}/dev/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`,
        `  curl -s '${gateway}/api/products?limit=2'`,
        `  curl -s -H "authorization: Bearer $TOKEN" ${gateway}/api/cart`,
        `  curl -s -X PUT -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"quantity":1}' ${gateway}/api/cart/lines/COF-ETH-YRG-250`,
        `  curl -s -X POST -H "authorization: Bearer $TOKEN" ${gateway}/api/orders`,
        '',
      ].join('\n'),
    );
  }
  process.stdout.write(
    `\nLogs: ${LOG_DIR}/<name>.log; follow one with \`npm start -- --follow <name>\` (e.g. orders, orders-envoy, kafka).\n`,
  );
  process.stdout.write(
    `\n${footprint()}\nCtrl-C stops everything (SIGTERM or SIGHUP to npm or to this launcher, pid ${String(process.pid)}, too).\n`,
  );

  // Every process watched from now on: a crash is reported and restarted with a backoff, and
  // each change is written for `npm start -- --status` too.
  // Filled in below: supervise() already reports its first status line before it returns.
  const supervision: { current?: Supervisor } = {};
  const status = (): Promise<void> =>
    writeStatus(STATUS_FILE, {
      launcher: process.pid,
      updatedAt: new Date().toISOString(),
      processes: stack.controlled().map((name) => {
        const control = stack.control(name);
        return {
          name,
          state: supervision.current?.status().get(name) ?? 'up',
          pid: control.pid ?? null,
          log: control.logFile,
        };
      }),
      parts: stack.parts,
    }).catch(() => undefined);
  const supervisor = supervise({
    stack,
    say: (text) => {
      process.stdout.write(`${text}\n`);
      if (text.startsWith('status:')) void status();
    },
  });
  supervision.current = supervisor;
  await status();
  await stopping;
  supervisor.stop();
  process.stdout.write(`${footprint()}\n`);
  await stack.stop();
  await reaper.stop();
});
