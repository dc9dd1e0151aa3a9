// Renders a profile against its bare alternative's as bench/profiles/<name>.md: CPU per unit
// of work by package on both sides, so the gap the scenario measures is split into who pays it.
import type { Machine } from '../machine.js';
import type { ProfiledRun } from './catalog.js';
import {
  NODE_INTERNAL,
  packageFamily,
  type PackageTime,
  type ProfileSummary,
} from './cpuprofile.js';

/** One profiled process: what ran, how it was driven and what its profile says. */
export interface ProfiledSide {
  /** File name without extension, e.g. `catalog-telemetry-on`. */
  readonly name: string;
  /** In words, e.g. "catalog, telemetry off". */
  readonly label: string;
  readonly run: ProfiledRun;
  readonly summary: ProfileSummary;
}

/** A profile, the alternative its scenario compares it with, and where and when they ran. */
export interface ProfileReport {
  readonly title: string;
  /** The scenario and its pair, in words. */
  readonly context: string;
  readonly side: ProfiledSide;
  readonly alternative: ProfiledSide;
  /** Another page the alternative has (its own .md), if any. */
  readonly alternativeLink?: string;
  readonly machine: Machine;
  readonly date: string;
}

const num = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (share: number): string => `${(share * 100).toFixed(1)} %`;

/** Microseconds of main-thread time per unit of work. */
function perUnit(ms: number, run: ProfiledRun): number {
  return run.units > 0 ? (ms * 1000) / run.units : 0;
}

/**
 * Busy µs per unit by package family, each with the Node internals it called (idle left out:
 * it is waiting, not cost); `node (internal)` keeps only what no package called.
 */
function familiesPerUnit(side: ProfiledSide): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of side.summary.packages) {
    if (p.name === '(idle)') continue;
    const family = packageFamily(p.name);
    out.set(family, (out.get(family) ?? 0) + perUnit(p.withNodeMs, side.run));
  }
  return out;
}

/** How a family reads in prose (Node's leftover time is its own work, not a package's). */
function familyLabel(name: string): string {
  return name === NODE_INTERNAL ? "Node's own work (HTTP parsing, socket reads, timers)" : name;
}

/** CPU of the whole process per unit from /proc or process.cpuUsage, if measured. */
function cpuPerUnit(run: ProfiledRun): number | undefined {
  return run.cpuMs === undefined ? undefined : perUnit(run.cpuMs, run);
}

/** The gap in CPU per unit between the two sides, split by package family, largest first. */
export function gapByFamily(report: ProfileReport): { total: number; rows: [string, number][] } {
  const a = familiesPerUnit(report.side);
  const b = familiesPerUnit(report.alternative);
  const names = new Set([...a.keys(), ...b.keys()]);
  const rows = [...names]
    .map((name): [string, number] => [name, (a.get(name) ?? 0) - (b.get(name) ?? 0)])
    .sort((x, y) => y[1] - x[1]);
  const total =
    perUnit(report.side.summary.busyMs, report.side.run) -
    perUnit(report.alternative.summary.busyMs, report.alternative.run);
  return { total, rows };
}

/** The paragraph "what the profile blames", from the numbers alone so a re-run keeps it true. */
export function blame(report: ProfileReport): string {
  const { side, alternative } = report;
  const unit = side.run.unitName;
  const mine = perUnit(side.summary.busyMs, side.run);
  const theirs = perUnit(alternative.summary.busyMs, alternative.run);
  const gap = gapByFamily(report);
  const growing = gap.rows.filter(([, us]) => us > 0);
  // What the alternative spends more on (its own code, e.g. the bare server writing its
  // response where catalog's express does): the other side of the ledger.
  const shrinking = gap.rows
    .filter(([, us]) => us <= -1)
    .reverse()
    .slice(0, 2)
    .map(([name, us]) => `${familyLabel(name)} ${num(us, 1)} µs`);
  const top = growing.slice(0, 6).map(([name, us]) => {
    const of = gap.total > 0 ? ` (${pct(us / gap.total)})` : '';
    return `${familyLabel(name)} +${num(us, 1)} µs${of}`;
  });
  const heaviest = [...side.summary.packages]
    .filter((p) => p.name !== '(idle)')
    .sort((a, b) => b.withNodeMs - a.withNodeMs)
    .slice(0, 4)
    .map((p) => `${familyLabel(p.name)} ${pct(p.withNodeShare)}`);
  const functions = side.summary.functions
    .slice(0, 4)
    .map((f) => `\`${f.functionName}\` (${f.packageName}, ${pct(f.share)})`);
  const rateRatio = alternative.run.rate > 0 ? side.run.rate / alternative.run.rate : 0;
  const cpuMine = cpuPerUnit(side.run);
  const cpuTheirs = cpuPerUnit(alternative.run);
  const cpu =
    cpuMine !== undefined && cpuTheirs !== undefined
      ? `The whole process used ${num(cpuMine, 1)} µs of CPU per ${unit} (every thread, user and system) against ${num(cpuTheirs, 1)} µs, ${(cpuMine / cpuTheirs).toFixed(1)}×;`
      : '';
  return [
    `While profiled ${side.label} served ${num(side.run.rate)} ${unit}s/s against ${num(alternative.run.rate)} for ${alternative.label}, a ratio of ${rateRatio.toFixed(2)}.`,
    cpu,
    `its main thread's non-idle samples come to ${num(mine, 1)} µs per ${unit} against ${num(theirs, 1)} µs (${gap.total >= 0 ? '+' : ''}${num(gap.total, 1)} µs).`,
    `Charging Node's internals to the package that called them (a socket write to the package that wrote), the profile puts that extra main-thread time in ${listing(top)}${shrinking.length > 0 ? `, less ${listing(shrinking)} that only ${alternative.label} spends` : ''}.`,
    `Of ${side.label}'s own main-thread time the heaviest are ${listing(heaviest)}; the hottest functions by self time ${listing(functions)}.`,
  ]
    .filter(Boolean)
    .join(' ');
}

function listing(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

function packageTable(report: ProfileReport): string[] {
  const { side, alternative } = report;
  const unit = side.run.unitName;
  const theirs = new Map<string, PackageTime>(alternative.summary.packages.map((p) => [p.name, p]));
  const rows = side.summary.packages.filter((p) => p.name !== '(idle)');
  const missing = alternative.summary.packages.filter(
    (p) => p.name !== '(idle)' && !rows.some((r) => r.name === p.name),
  );
  const lines = [
    `| package | self time | self, % of non-idle | with the Node internals it called, % | µs per ${unit}¹ | ${alternative.label}: µs per ${unit}¹ | difference¹ |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const p of rows) {
    const mine = perUnit(p.withNodeMs, side.run);
    const other = theirs.get(p.name);
    const alt = other ? perUnit(other.withNodeMs, alternative.run) : 0;
    lines.push(
      `| ${p.name} | ${num(p.ms)} ms | ${pct(p.share)} | ${pct(p.withNodeShare)} | ${num(mine, 1)} | ${other ? num(alt, 1) : '—'} | ${signed(mine - alt)} |`,
    );
  }
  for (const p of missing) {
    const alt = perUnit(p.withNodeMs, alternative.run);
    lines.push(`| ${p.name} | — | — | — | — | ${num(alt, 1)} | ${signed(-alt)} |`);
  }
  const mine = perUnit(side.summary.busyMs, side.run);
  const alt = perUnit(alternative.summary.busyMs, alternative.run);
  lines.push(
    `| **non-idle, all** | ${num(side.summary.busyMs)} ms | 100.0 % | 100.0 % | ${num(mine, 1)} | ${num(alt, 1)} | ${signed(mine - alt)} |`,
  );
  return lines;
}

/** A run's figures in a sentence. */
function describeRun(side: ProfiledSide): string {
  const { run, summary } = side;
  const cpu = cpuPerUnit(run);
  const cpuText =
    cpu === undefined || run.cpuMs === undefined
      ? ''
      : `; the process used ${num(run.cpuMs)} ms of CPU (${num(cpu, 1)} µs per ${run.unitName})`;
  return `${num(run.units)} ${run.unitName}s at ${num(run.rate)}/s${cpuText}; the profile holds ${num(summary.samples)} samples of its main thread, ${num(summary.busyMs)} ms of them not idle at the sampling interval (${num(perUnit(summary.busyMs, run), 1)} µs per ${run.unitName}).`;
}

function signed(n: number): string {
  return `${n >= 0 ? '+' : '−'}${num(Math.abs(n), 1)}`;
}

function functionTable(summary: ProfileSummary): string[] {
  return [
    '| # | function | package | file:line | self time | % of non-idle |',
    '| ---: | --- | --- | --- | ---: | ---: |',
    ...summary.functions.map(
      (f, i) =>
        `| ${String(i + 1)} | \`${f.functionName.replaceAll('|', '\\|')}\` | ${f.packageName} | ${f.location} | ${num(f.ms)} ms | ${pct(f.share)} |`,
    ),
  ];
}

/** bench/profiles/<name>.md for one profile. */
export function renderProfile(report: ProfileReport): string {
  const { side, alternative, machine } = report;
  const commit = `${machine.commit.slice(0, 10)}${machine.dirty ? ' with uncommitted changes' : ''}`;
  const s = side.summary;
  const altRef = report.alternativeLink
    ? `[${alternative.label}](${report.alternativeLink})`
    : alternative.label;
  return [
    `# ${report.title}`,
    '',
    `Profiled ${report.date} by \`npm run bench:profile\` on ${String(machine.cores)} cores (${machine.cpuModel}), Node ${machine.node}, commit ${commit}; load average ${String(machine.loadAverage)} at the start.`,
    '',
    report.context,
    '',
    `- **Profiled:** ${side.label}; ${side.run.load}. ${describeRun(side)}`,
    `- **Bare alternative:** ${altRef}, profiled the same way. ${describeRun(alternative)}`,
    '',
    '## What the profile blames',
    '',
    blame(report),
    '',
    '## Self time by package',
    '',
    `Self time is where the main thread's samples landed (a function's own code, not its callees). Native frames (no script) count for the package of their JavaScript caller; \`(program)\` is native work outside JavaScript (the event loop, the HTTP parser), \`(garbage collector)\` the main thread's GC pauses. "With the Node internals it called" adds the time spent inside \`node:\` modules and their native calls below the package's code (a socket write under ioredis is ioredis's); the \`node (internal)\` row keeps in that column only what no package called. ¹ That column, in µs of main-thread time per ${side.run.unitName} served in the window; the difference is the gap to the bare alternative. Time is samples × the sampling interval (about 1 ms): the sampler interrupts the thread only while it runs, so on this shared machine the time it waited for a core is left out rather than charged to the code it stopped in, and the samples track the process's CPU from /proc. Socket writes are system calls whose kernel work (loopback TCP, waking the peer) shows as the native \`writeUtf8String\`/\`writev\`.`,
    '',
    ...packageTable(report),
    '',
    `## Top ${String(s.functions.length)} functions by self time`,
    '',
    "Lines of our TypeScript are mapped back through the source maps tsx keeps in its cache (tsx runs every module as one line); `__name` is esbuild's helper that keeps function names.",
    '',
    ...functionTable(s),
    '',
    `The raw profiles (\`${side.name}.cpuprofile\`, \`${alternative.name}.cpuprofile\`) are written beside this file and kept out of git; Chrome DevTools (Performance → Load profile) opens them.`,
    '',
  ].join('\n');
}
