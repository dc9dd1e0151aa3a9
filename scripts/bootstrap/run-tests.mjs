// Runs every workspace's tests (each under c8 and mocha) and closes with one line,
// "tests: N passed, N failed", summed from what each workspace's reporter recorded.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'emporium-tests-'));
const summary = join(dir, 'summary.jsonl');
const run = spawnSync('npm', ['run', 'test', '--workspaces', '--if-present'], {
  stdio: 'inherit',
  env: { ...process.env, EMPORIUM_TEST_SUMMARY: summary },
});
const lines = existsSync(summary) ? readFileSync(summary, 'utf8').trim().split('\n') : [];
rmSync(dir, { recursive: true, force: true });
const total = { passed: 0, failed: 0, skipped: 0 };
for (const line of lines.filter(Boolean)) {
  const counts = JSON.parse(line);
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
}
const ok = run.status === 0 && total.failed === 0 && total.passed > 0;
const skipped = total.skipped > 0 ? `, ${total.skipped} skipped` : '';
process.stdout.write(`\ntests: ${total.passed} passed, ${total.failed} failed${skipped}\n`);
if (!ok && run.status === 0) process.stderr.write('emporium: no tests ran\n');
process.exit(ok ? 0 : (run.status ?? 1) || 1);
