import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import type { Machine } from './machine.js';
import { verdict, type Goal, type Measurement, type ScenarioResult } from './results.js';
import type { Profile } from './scenario.js';
import type { Spread } from './stats.js';

/** A scenario that threw: the run goes on and the table says so. */
export interface FailedScenario {
  readonly name: string;
  readonly pair: string;
  readonly error: string;
  readonly seconds: number;
}

/** What `bench/results/<date>.json` holds. */
export interface BenchReport {
  /** YYYY-MM-DD (UTC), the file's name. */
  readonly date: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly profile: Profile;
  readonly machine: Machine;
  readonly scenarios: readonly (ScenarioResult | FailedScenario)[];
}

/** True for a scenario that threw. */
export function isFailed(s: ScenarioResult | FailedScenario): s is FailedScenario {
  return 'error' in s;
}

/** Where the generated part of bench/README.md starts and ends. */
export const README_MARKERS = {
  start: '<!-- bench:results:start (written by npm run bench) -->',
  end: '<!-- bench:results:end -->',
} as const;

const DECIMALS: Record<string, number> = {
  ratio: 2,
  ms: 2,
  s: 2,
  MB: 0,
  'orders/s': 1,
  // A search over 100k products takes seconds: a fraction of one a second.
  'searches/s': 2,
};

/** A number in a unit as the table shows it: ratios and ms to 2 places, req/s whole. */
export function formatValue(value: number, unit: string, signed = false): string {
  const decimals = DECIMALS[unit] ?? 0;
  const text = value.toLocaleString('en-US', {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
  const sign = signed && value > 0 ? '+' : '';
  return unit === 'ratio' ? `${sign}${text}` : `${sign}${text} ${unit}`;
}

function measured(m: Measurement): string {
  const signed = m.name.startsWith('added');
  const median = formatValue(m.value.median, m.unit, signed);
  if (m.value.samples.length < 2) return median;
  const range = (s: Spread): string =>
    `${formatValue(s.min, m.unit, signed)} – ${formatValue(s.max, m.unit, signed)}`;
  return `${median} (${range(m.value)})`;
}

function goalText(goal: Goal | undefined, unit: string): string {
  if (!goal) return 'report';
  return `${goal.op === '>=' ? '≥' : '≤'} ${formatValue(goal.value, unit)}`;
}

/** "met" or "missed by …" for a measurement, or a dash when it has no goal. */
export function verdictText(m: Measurement): string {
  if (!m.goal) return '—';
  const v = verdict(m.value.median, m.goal);
  const by = formatValue(Math.abs(v.margin), m.unit);
  return v.met ? `met (by ${by})` : `**missed by ${by}**`;
}

function sides(m: Measurement): string {
  if (!m.a || !m.b) return '';
  const unit = m.sideUnit ?? m.unit;
  return `${formatValue(m.a.spread.median, unit)} vs ${formatValue(m.b.spread.median, unit)}`;
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The results as markdown: the machine, one table row per measurement, then the notes. */
export function renderResults(report: BenchReport): string {
  const m = report.machine;
  const commit = `${m.commit.slice(0, 10)}${m.dirty ? ' with uncommitted changes' : ''}`;
  const lines = [
    `Measured ${report.date} on ${String(m.cores)} cores (${m.cpuModel}), ${String(m.memoryGiB)} GiB, Node ${m.node}, commit ${commit}; load average ${String(m.loadAverage)} at the start; the run took ${(report.seconds / 60).toFixed(1)} min${report.profile.smoke ? ' (smoke profile)' : ''}. Raw figures: [results/${report.date}.json](results/${report.date}.json).`,
    '',
    '| scenario | pair | measurement | A vs B (medians) | measured: median (min – max) | goal | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of report.scenarios) {
    if (isFailed(s)) {
      lines.push(`| ${s.name} | ${cell(s.pair)} | **failed** | | ${cell(s.error)} | | |`);
      continue;
    }
    s.measurements.forEach((x, i) => {
      const first = i === 0;
      lines.push(
        `| ${first ? s.name : ''} | ${first ? cell(s.pair) : ''} | ${cell(x.name)} | ${sides(x)} | ${measured(x)} | ${goalText(x.goal, x.unit)} | ${verdictText(x)} |`,
      );
    });
  }
  lines.push(
    '',
    `Rounds per pair: ${String(report.profile.rounds)} (Kafka: ${String(report.profile.kafkaRounds)}), A and B alternating. Per scenario:`,
    '',
  );
  for (const s of report.scenarios) {
    if (isFailed(s)) continue;
    const sideLabels = s.measurements.find((x) => x.a && x.b);
    const pair =
      sideLabels?.a && sideLabels.b ? ` A = ${sideLabels.a.label}; B = ${sideLabels.b.label}.` : '';
    const took = `${s.seconds.toFixed(0)} s, load average ${String(s.loadAverage)} at its start`;
    lines.push(`- **${s.name}** (${took}):${pair} ${s.notes.join(' ')}`);
  }
  return lines.join('\n');
}

async function prettier(text: string, file: string): Promise<string> {
  const options = (await resolveConfig(file)) ?? {};
  return format(text, { ...options, filepath: file });
}

/** Writes `<dir>/<date>.json`, formatted as the repository's Prettier would. */
export async function writeReport(report: BenchReport, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${report.date}.json`);
  await writeFile(file, await prettier(JSON.stringify(report), file));
  return file;
}

/** Replaces the generated part of a README (between the markers) with these results. */
export async function updateReadme(report: BenchReport, readme: string): Promise<void> {
  const text = await readFile(readme, 'utf8');
  const start = text.indexOf(README_MARKERS.start);
  const end = text.indexOf(README_MARKERS.end);
  if (start === -1 || end < start) {
    throw new Error(`${readme} lacks the markers ${README_MARKERS.start} … ${README_MARKERS.end}`);
  }
  const updated = `${text.slice(0, start + README_MARKERS.start.length)}\n\n${renderResults(report)}\n\n${text.slice(end)}`;
  await mkdir(dirname(readme), { recursive: true });
  await writeFile(readme, await prettier(updated, readme));
}
