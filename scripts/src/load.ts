import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort, portFree, serviceMain } from '@emporium/harness';
import { SUMMARY_PREFIX, type StepSummary, type Summary } from '@emporium/loadgen/summary';
import { CliError, progress, runCli } from './cli.js';
import { STACK_PORTS } from './stack/ports.js';
import { LOCAL_STACK_DATA, registerScrapeTarget } from './stack/stack.js';

const USAGE = `usage: npm run load -- [--rps N] [--duration 60s] [--concurrency N] [--users N|a,b]
                     [--gateway URL] [--port N] [--json]
  --rps N          requests per second across all shoppers (20)
  --duration D     how long: 500ms, 60s, 5m, 1h, 1h30m (60s)
  --concurrency N  most requests in flight; arrivals beyond it are dropped (20)
  --users N|LIST   N users shopper-1..N, or names (alice,bob) (loadgen's default: 20)
  --gateway URL    the gateway (http://127.0.0.1:${String(STACK_PORTS.gateway)})
  --port N         loadgen's own HTTP port (${String(STACK_PORTS.loadgen)}, else a free one)
  --json           print the summary as one JSON object instead of a table
Other LOADGEN_* variables (e.g. LOADGEN_CHECKOUT_RATIO) are passed on to loadgen.`;

/** What the command line asked for. */
interface Options {
  rps: number;
  duration: string;
  concurrency: number;
  users: string | undefined;
  gateway: string;
  port: number | undefined;
  json: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStepSummary(value: unknown): value is StepSummary {
  return (
    isRecord(value) &&
    typeof value.step === 'string' &&
    ['requests', 'ok', 'business', 'rateLimited', 'errors'].every(
      (key) => typeof value[key] === 'number',
    ) &&
    isRecord(value.businessCodes)
  );
}

/** Checks the shape of the summary line before the table relies on it. */
function isSummary(value: unknown): value is Summary {
  return (
    isRecord(value) &&
    ['elapsedSeconds', 'targetRps', 'achievedRps', 'requests', 'dropped', 'ordersPlaced'].every(
      (key) => typeof value[key] === 'number',
    ) &&
    isRecord(value.journeys) &&
    Array.isArray(value.steps) &&
    value.steps.every(isStepSummary) &&
    isStepSummary(value.total)
  );
}

/** Parses the flags (`--rps 20` or `--rps=20`); a bad one is a CliError naming it. */
function parseOptions(argv: readonly string[]): Options | 'help' {
  const options: Options = {
    rps: 20,
    duration: '60s',
    concurrency: 20,
    users: undefined,
    gateway: `http://127.0.0.1:${String(STACK_PORTS.gateway)}`,
    port: undefined,
    json: false,
  };
  const args = argv.flatMap((arg) => (/^--\w[\w-]*=/.test(arg) ? arg.split(/=(.*)/s, 2) : [arg]));
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    if (flag === '--json') {
      options.json = true;
      continue;
    }
    if (flag === '--help' || flag === '-h') return 'help';
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) {
      throw new CliError(`${flag} needs a value\n${USAGE}`);
    }
    i++;
    const number = Number(value);
    switch (flag) {
      case '--rps':
        if (!(number > 0)) throw new CliError(`--rps takes a number above 0, not ${value}`);
        options.rps = number;
        break;
      case '--duration':
        if (!/^(\d+(ms|s|m|h))+$/.test(value) || !/[1-9]/.test(value)) {
          throw new CliError(`--duration takes a duration like 30s, 5m or 1h, not ${value}`);
        }
        options.duration = value;
        break;
      case '--concurrency':
        if (!Number.isInteger(number) || number < 1) {
          throw new CliError(`--concurrency takes a whole number above 0, not ${value}`);
        }
        options.concurrency = number;
        break;
      case '--users':
        if (!/^[1-9]\d*$/.test(value) && !/^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*$/.test(value)) {
          throw new CliError(`--users takes a number or a comma-separated list, not ${value}`);
        }
        options.users = value;
        break;
      case '--gateway':
        if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
          throw new CliError(`--gateway takes an http(s) URL, not ${value}`);
        }
        options.gateway = value.replace(/\/+$/, '');
        break;
      case '--port':
        if (!Number.isInteger(number) || number < 0 || number > 65535) {
          throw new CliError(`--port takes a port number, not ${value}`);
        }
        options.port = number;
        break;
      default:
        throw new CliError(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  return options;
}

async function gatewayAnswers(gateway: string): Promise<boolean> {
  try {
    const response = await fetch(`${gateway}/livez`, { signal: AbortSignal.timeout(3000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** The table of the run: one row per step and the total, then the rate, orders and journeys. */
function table(summary: Summary): string {
  const ms = (value: number | null): string => (value === null ? '-' : value.toFixed(1));
  const header = [
    'step',
    'requests',
    'ok',
    'business',
    '429',
    'errors',
    'p50 ms',
    'p95 ms',
    'p99 ms',
  ];
  const rows = [...summary.steps, summary.total].map((line) => [
    line.step,
    String(line.requests),
    String(line.ok),
    String(line.business),
    String(line.rateLimited),
    String(line.errors),
    ms(line.p50Ms),
    ms(line.p95Ms),
    ms(line.p99Ms),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  const lines = [format(header), rule, ...rows.slice(0, -1).map(format), rule];
  const total = rows.at(-1);
  if (total) lines.push(format(total));
  const business = summary.steps.flatMap((line) =>
    Object.entries(line.businessCodes).map(
      ([code, count]) => `${line.step} ${code} ×${String(count)}`,
    ),
  );
  const journeys = summary.journeys;
  lines.push(
    '',
    `achieved ${summary.achievedRps.toFixed(2)} rps of ${String(summary.targetRps)} over ` +
      `${summary.elapsedSeconds.toFixed(1)} s; ${String(summary.dropped)} arrivals dropped ` +
      'at the concurrency limit',
    `orders placed: ${String(summary.ordersPlaced)}`,
    `journeys: ${(['ordered', 'abandoned', 'rejected', 'rate_limited', 'failed'] as const)
      .map((outcome) => `${String(journeys[outcome])} ${outcome.replace('_', ' ')}`)
      .join(', ')}` +
      (journeys.inProgress > 0 ? ` (${String(journeys.inProgress)} unfinished)` : ''),
  );
  if (business.length > 0) lines.push(`business answers: ${business.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** A log line of loadgen worth showing (warnings and errors), as one line of text. */
function logMessage(line: string): string | undefined {
  try {
    const entry: unknown = JSON.parse(line);
    if (!isRecord(entry) || typeof entry.msg !== 'string') return undefined;
    return ['warn', 'error', 'fatal'].includes(String(entry.level)) ? entry.msg : undefined;
  } catch {
    return line.trim() || undefined;
  }
}

/** Runs loadgen to its end; resolves with its exit code and the summary it printed, if any. */
function runLoadgen(
  env: NodeJS.ProcessEnv,
  port: number,
): Promise<{ code: number | null; summary: unknown }> {
  // Started exactly as scripts/src/stack/services.ts starts a service, but in its own process
  // group: Ctrl-C reaches only this command, which forwards one SIGTERM, so loadgen stops
  // once and prints its summary (two signals would make it exit at once, without one).
  const { command, args, cwd } = serviceMain('loadgen');
  const child: ChildProcess = spawn(command, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let summary: unknown;
  let stoppingSince: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppingSince === undefined) {
      stoppingSince = performance.now();
      progress('load', `${signal}: stopping loadgen (again to stop at once)`);
      child.kill('SIGTERM');
      return;
    }
    // tsx relays a Ctrl-C that the terminal also delivered: only a later one is a second ask.
    if (performance.now() - stoppingSince > 500) child.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  // Progress every 10 s from loadgen's own /stats, so a long run shows it is alive.
  const poll = setInterval(() => {
    void fetch(`http://127.0.0.1:${String(port)}/stats`, { signal: AbortSignal.timeout(2000) })
      .then(async (response) => (response.ok ? await response.json() : undefined))
      .then((stats) => {
        if (!isSummary(stats)) return;
        progress(
          'load',
          `${stats.elapsedSeconds.toFixed(0)} s: ${String(stats.requests)} requests ` +
            `(${stats.achievedRps.toFixed(1)} rps), ${String(stats.ordersPlaced)} orders, ` +
            `${String(stats.total.errors)} errors, ${String(stats.total.rateLimited)} rate limited`,
        );
      })
      .catch(() => undefined);
  }, 10_000);

  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(SUMMARY_PREFIX)) {
        try {
          summary = JSON.parse(line.slice(SUMMARY_PREFIX.length));
        } catch {
          summary = undefined;
        }
        return;
      }
      const message = logMessage(line);
      if (message !== undefined) progress('loadgen', message);
    });
  }
  child.stderr?.pipe(process.stderr, { end: false });

  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(poll);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', killOnExit);
      resolve({ code, summary });
    });
  });
}

// `npm run load`: synthetic shoppers against a running stack (`npm start`) for a while, then
// a table of what they saw. Exit 0 when the run completed, errors or not; 1 when it could not.
runCli('load', async () => {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!(await gatewayAnswers(options.gateway))) {
    throw new CliError(
      `the gateway at ${options.gateway} does not answer: start the stack with \`npm start\``,
    );
  }
  const port =
    options.port ??
    ((await portFree(STACK_PORTS.loadgen)) ? STACK_PORTS.loadgen : await freePort());
  const passedOn = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name.startsWith('LOADGEN_')),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...passedOn,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    OTEL_SERVICE_NAME: 'loadgen',
    DEPLOYMENT_ENVIRONMENT: 'local',
    TELEMETRY_ENABLED: 'false',
    UPSTREAM_GATEWAY_URL: options.gateway,
    LOADGEN_RPS: String(options.rps),
    LOADGEN_DURATION: options.duration,
    LOADGEN_CONCURRENCY: String(options.concurrency),
    ...(options.users === undefined ? {} : { LOADGEN_USERS: options.users }),
  };
  progress(
    'load',
    `${String(options.rps)} rps for ${options.duration} against ${options.gateway} ` +
      `(loadgen on port ${String(port)}; Ctrl-C stops early)`,
  );
  // The local stack's Prometheus scrapes loadgen for as long as it runs.
  const unregister = await registerScrapeTarget(LOCAL_STACK_DATA, 'loadgen', port);
  const { code, summary } = await runLoadgen(env, port).finally(unregister);
  if (!isSummary(summary)) {
    throw new CliError(
      `loadgen exited (${String(code)}) without a summary` +
        (code === 78 ? ': its configuration was refused (see above)' : ''),
    );
  }
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : table(summary));
});
