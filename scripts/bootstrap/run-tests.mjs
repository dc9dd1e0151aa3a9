// Runs every workspace's tests (each under c8 and mocha) and closes with one line,
// "tests: N passed, N failed", summed from what each workspace's reporter recorded.
//
// Workspaces run EMPORIUM_TEST_JOBS at a time (2 by default): most of a workspace's time is spent
// waiting on real brokers and databases, so two share two cores well. Each one's output is
// printed whole when it ends, so the logs never interleave. The longest go first, by the
// durations the last run recorded (in the tool cache), so the two lanes end close together.
// The system tests run last, alone: the fault suite counts every request that failed during a
// rolling restart, and on two shared cores a checkout can outlast its timeout for no other
// reason than the workspace running beside it.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const jobs = Math.max(1, Number(process.env.EMPORIUM_TEST_JOBS ?? '2') || 1);
const cacheRoot = process.env.EMPORIUM_CACHE ?? join(homedir(), '.cache', 'emporium');
const durationsFile = join(cacheRoot, 'test-durations.json');

/** Every workspace folder (the root package.json's globs, one level of `*`) with a test script. */
function workspaces() {
  const globs = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
  const dirs = globs.flatMap((glob) => {
    if (!glob.endsWith('/*')) return [glob];
    const parent = glob.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${parent}/${entry.name}`);
  });
  return dirs.filter((dir) => {
    const file = join(root, dir, 'package.json');
    return existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).scripts?.test !== undefined;
  });
}

function readDurations() {
  try {
    return JSON.parse(readFileSync(durationsFile, 'utf8'));
  } catch {
    return {};
  }
}

/** Workspaces that run after the others, one at a time, with the machine to themselves. */
const EXCLUSIVE = new Set(['tests/system']);

const dir = mkdtempSync(join(tmpdir(), 'emporium-tests-'));
const summary = join(dir, 'summary.jsonl');
const previous = readDurations();
// Longest first; a workspace never timed keeps its place after the timed ones.
const all = workspaces().sort((a, b) => (previous[b] ?? 0) - (previous[a] ?? 0));
const queue = all.filter((workspace) => !EXCLUSIVE.has(workspace));
const alone = all.filter((workspace) => EXCLUSIVE.has(workspace));
const durations = { ...previous };
const failedWorkspaces = [];
const began = Date.now();

/** Runs one workspace's `npm test`, its output kept until it ends. */
function run(workspace) {
  return new Promise((resolve) => {
    const started = Date.now();
    process.stdout.write(`\n▶ ${workspace}: started\n`);
    const child = spawn('npm', ['run', 'test', '--workspace', workspace], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, EMPORIUM_TEST_SUMMARY: summary },
    });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('close', (code, signal) => {
      const seconds = (Date.now() - started) / 1000;
      durations[workspace] = seconds;
      const ok = code === 0;
      if (!ok) failedWorkspaces.push(workspace);
      process.stdout.write(
        `\n━━ ${workspace}: ${ok ? 'passed' : `FAILED (${signal ?? `exit ${String(code)}`})`} in ${seconds.toFixed(0)} s ━━\n`,
      );
      process.stdout.write(Buffer.concat(output));
      resolve();
    });
  });
}

async function lane() {
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) await run(next);
}

await Promise.all(Array.from({ length: jobs }, () => lane()));
for (const workspace of alone) await run(workspace);

try {
  mkdirSync(cacheRoot, { recursive: true });
  writeFileSync(durationsFile, `${JSON.stringify(durations, null, 2)}\n`);
} catch {
  // Only the order of the next run depends on it.
}
const lines = existsSync(summary) ? readFileSync(summary, 'utf8').trim().split('\n') : [];
rmSync(dir, { recursive: true, force: true });
const total = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
for (const line of lines.filter(Boolean)) {
  const counts = JSON.parse(line);
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
  const workspace = relative(process.cwd(), counts.workspace);
  for (const failure of counts.failures ?? []) failures.push({ workspace, ...failure });
}
for (const { workspace, title, message } of failures) {
  const indented = message.replaceAll('\n', '\n    ');
  process.stdout.write(`\nfailed in ${workspace}: ${title}\n    ${indented}\n`);
}
const ok = failedWorkspaces.length === 0 && total.failed === 0 && total.passed > 0;
const skipped = total.skipped > 0 ? `, ${total.skipped} skipped` : '';
const minutes = ((Date.now() - began) / 60_000).toFixed(1);
if (failedWorkspaces.length > 0) {
  process.stdout.write(`\nfailed workspaces: ${failedWorkspaces.join(', ')}\n`);
}
process.stdout.write(
  `\ntests: ${total.passed} passed, ${total.failed} failed${skipped} (${minutes} min, ${String(jobs)} at a time)\n`,
);
if (!ok && failedWorkspaces.length === 0) process.stderr.write('emporium: no tests ran\n');
process.exit(ok ? 0 : 1);
