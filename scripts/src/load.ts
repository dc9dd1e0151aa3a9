import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort, portFree, serviceMain } from '@emporium/harness';
import {
  SUMMARY_PREFIX,
  type OrdersSummary,
  type StepSummary,
  type Summary,
} from '@emporium/loadgen/summary';
import { CliError, progress, runCli } from './cli.js';
import { STACK_PORTS } from './stack/ports.js';
import { LOCAL_STACK_DATA, registerScrapeTarget } from './stack/stack.js';

const USAGE = `usage: npm run load -- [--rps N] [--duration 60s] [--settle 60s] [--concurrency N]
                     [--users N|a,b] [--gateway URL] [--port N] [--strict] [--json]
  --rps N          requests per second across all shoppers (20)
  --duration D     how long: 500ms, 60s, 5m, 1h, 1h30m (60s)
  --settle D|0     then read the orders back until final, for at most D after the last
                   checkout (60s); 0 skips it
  --concurrency N  most requests in flight; arrivals beyond it are dropped (20)
  --users N|LIST   N users shopper-1..N, or names (alice,bob) (loadgen's default: 20)
  --gateway URL    the gateway (http://127.0.0.1:${String(STACK_PORTS.gateway)})
  --port N         loadgen's own HTTP port (${String(STACK_PORTS.loadgen)}, else a free one)
  --strict         exit 1 when a request failed or an order was not final within 60 s
  --json           print the summary as one JSON object instead of a table
Other LOADGEN_* variables (e.g. LOADGEN_CHECKOUT_RATIO) are passed on to loadgen.`;

/** What the command line asked for. */
interface Options {
  rps: number;
  duration: string;
  settle: string;
  concurrency: number;
  users: string | undefined;
  gateway: string;
  port: number | undefined;
  strict: boolean;
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

function isOrdersSummary(value: unknown): value is OrdersSummary {
  return (
    isRecord(value) &&
    ['placed', 'final', 'shipped', 'cancelled', 'notFinal', 'late', 'lateAfterMs'].every(
      (key) => typeof value[key] === 'number',
    ) &&
    isRecord(value.notFinalByStatus) &&
    isRecord(value.timeToFinal) &&
    isRecord(value.settle) &&
    typeof value.settle.state === 'string'
  );
}

/** Checks the shape of the summary line before the table relies on it. */
function isSummary(value: unknown): value is Summary {
  return (
    isRecord(value) &&
    ['elapsedSeconds', 'targetRps', 'achievedRps', 'requests', 'dropped', 'ordersPlaced'].every(
      (key) => typeof value[key] === 'number',
    ) &&
    isOrdersSummary(value.orders) &&
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
    settle: '60s',
    concurrency: 20,
    users: undefined,
    gateway: `http://127.0.0.1:${String(STACK_PORTS.gateway)}`,
    port: undefined,
    strict: false,
    json: false,
  };
  const args = argv.flatMap((arg) => (/^--\w[\w-]*=/.test(arg) ? arg.split(/=(.*)/s, 2) : [arg]));
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    if (flag === '--json' || flag === '--strict') {
      options[flag === '--json' ? 'json' : 'strict'] = true;
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
      case '--settle':
        if (!/^(\d+(ms|s|m|h))+$/.test(value) && !/^0+$/.test(value)) {
          throw new CliError(`--settle takes a duration like 60s or 5m, or 0, not ${value}`);
        }
        options.settle = value;
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
  lines.push(...ordersLines(summary.orders), '', verdict(summary));
  return `${lines.join('\n')}\n`;
}

/** `1 PENDING, 2 PAID`: the orders not final by their last status. */
function byStatus(orders: OrdersSummary): string {
  return Object.entries(orders.notFinalByStatus)
    .map(([status, count]) => `${String(count)} ${status}`)
    .join(', ');
}

/** What falls short of the goal (no errors, every order final within 60 s); empty for none. */
function shortfalls(summary: Summary): string[] {
  const { orders } = summary;
  const found: string[] = [];
  if (summary.total.errors > 0) found.push(`${String(summary.total.errors)} requests failed`);
  // Without a settle phase nobody looked, so "not final" would only mean "not checked".
  if (orders.notFinal > 0 && orders.settle.state !== 'skipped') {
    found.push(`${String(orders.notFinal)} orders not final (${byStatus(orders)})`);
  }
  if (orders.late > 0) {
    found.push(
      `${String(orders.late)} orders took over ${String(orders.lateAfterMs / 1000)} s to be final`,
    );
  }
  return found;
}

/** One line that says whether the run met the goal, and why not. */
function verdict(summary: Summary): string {
  const { orders } = summary;
  const failed = shortfalls(summary);
  if (failed.length > 0) return `verdict: FAIL: ${failed.join('; ')}`;
  const checked =
    orders.settle.state === 'skipped'
      ? `${String(orders.placed)} orders not checked (--settle 0, or stopped early)`
      : orders.placed === 0
        ? 'no orders placed'
        : `all ${String(orders.placed)} orders final within ${String(orders.lateAfterMs / 1000)} s`;
  return `verdict: OK: no errors; ${checked}`;
}

/** The orders section of the table: what became of them and how fast. */
function ordersLines(orders: OrdersSummary): string[] {
  const ms = (value: number | null): string => (value === null ? '-' : `${value.toFixed(0)} ms`);
  const { timeToFinal: t, settle } = orders;
  const lines = [
    `orders: ${String(orders.placed)} placed; ${String(orders.final)} final ` +
      `(${String(orders.shipped)} shipped, ${String(orders.cancelled)} cancelled); ` +
      `${String(orders.notFinal)} not final` +
      (orders.notFinal > 0 ? ` (${byStatus(orders)})` : '') +
      (orders.untracked > 0 ? `; ${String(orders.untracked)} not tracked (memory bound)` : ''),
    `time to final: p50 ${ms(t.p50Ms)}, p95 ${ms(t.p95Ms)}, p99 ${ms(t.p99Ms)}, ` +
      `max ${ms(t.maxMs)}; ${String(orders.late)} over ${String(orders.lateAfterMs / 1000)} s`,
  ];
  lines.push(
    settle.state === 'skipped'
      ? 'settle: skipped, orders not read back'
      : `settle: ${settle.state} after ${settle.elapsedSeconds.toFixed(1)} s ` +
          `(at most ${String(settle.limitMs / 1000)} s after the last checkout), ` +
          `${String(settle.rounds)} passes, ${String(settle.reads)} reads, ` +
          `${String(settle.failedReads)} failed`,
  );
  return lines;
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
        const { orders } = stats;
        if (!stats.running && orders.settle.state === 'running') {
          progress(
            'load',
            `settling ${orders.settle.elapsedSeconds.toFixed(0)} s: ${String(orders.final)} of ` +
              `${String(orders.placed)} orders final, waiting for ${String(orders.notFinal)} ` +
              `(${byStatus(orders)})`,
          );
          return;
        }
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

// `npm run load`: synthetic shoppers against a running stack (`npm start`) for a while, a
// settle phase that reads their orders back until final, then a table of what they saw and a
// verdict. Exit 0 when the run completed, errors or not (1 with --strict when the verdict
// fails); 1 when it could not run.
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
    LOADGEN_SETTLE: options.settle,
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
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    // stdout stays one JSON object; the verdict is for the person watching.
    progress('load', verdict(summary));
  } else {
    process.stdout.write(table(summary));
  }
  if (options.strict && shortfalls(summary).length > 0) process.exitCode = 1;
});
